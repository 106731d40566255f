"""``python -m producer_service``: one worker per core, connections spread by the kernel."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kafka_kit.local_kafka.cluster import free_ports
from kafka_kit.testing import wait_until, wait_until_sync
from tests.app_helpers import wait_healthy

ROOT = Path(__file__).resolve().parents[2]
EVENT = {"type": "order.created", "source": "checkout", "payload": {"n": 1}}


def _children(pid: int) -> list[int]:
    """The worker processes of ``pid`` (not multiprocessing's resource tracker)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                command = (entry / "cmdline").read_bytes()
                if int(fields[1]) == pid and b"spawn_main" in command:
                    found.append(int(entry.name))
    return found


def _established_on(pid: int, port: int) -> int:
    """Accepted connections to ``port`` that process ``pid`` holds."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    count = 0
    for line in Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].split(":")[1], 16)
        if local_port == port and fields[3] == "01" and fields[9] in inodes:  # 01: ESTABLISHED
            count += 1
    return count


@contextlib.contextmanager
def producer_workers(
    bootstrap: str, topic: str, workers: int
) -> Iterator[tuple[subprocess.Popen[bytes], str, int]]:
    (port,) = free_ports(1)
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "EVENTS_TOPIC": topic}
    process = subprocess.Popen(
        [sys.executable, "-m", "producer_service", "--port", str(port), "--workers", str(workers)],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_sync(lambda: len(_children(process.pid)) >= workers, 90, "the workers started")
        wait_healthy(process, base, 90)
        yield process, base, port
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


async def test_two_workers_share_the_port_and_its_connections(
    kafka_bootstrap_servers: str, topic_name: str
) -> None:
    with producer_workers(kafka_bootstrap_servers, topic_name, 2) as (process, base, port):
        workers = _children(process.pid)
        assert len(workers) == 2
        clients = [httpx.AsyncClient(base_url=base, timeout=30) for _ in range(32)]
        try:
            for client in clients:  # one keep-alive connection each, all open at once
                assert (await client.post("/events", json=EVENT)).status_code == 202
            spread = [_established_on(pid, port) for pid in workers]
        finally:
            for client in clients:
                await client.aclose()
        assert sum(spread) == 32
        # The kernel hashes each connection to a worker's socket: both get a share.
        assert min(spread) >= 4, spread
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
    for pid in workers:
        await wait_until(
            lambda pid=pid: not Path(f"/proc/{pid}").exists(), 10, f"worker {pid} gone"
        )


async def test_a_dead_worker_stops_the_service_with_an_error(
    kafka_bootstrap_servers: str, topic_name: str
) -> None:
    with producer_workers(kafka_bootstrap_servers, topic_name, 2) as (process, _, _):
        first, second = _children(process.pid)
        os.kill(first, signal.SIGKILL)
        assert process.wait(30) == 1
        await wait_until(lambda: not Path(f"/proc/{second}").exists(), 10, "the other worker gone")


def _refused(*args: str, **env: str) -> str:
    """Run ``python -m producer_service`` expecting it to refuse its options; its stderr."""
    done = subprocess.run(
        [sys.executable, "-m", "producer_service", "--port", "1", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    return done.stderr


def test_outbox_mode_refuses_several_workers() -> None:
    stderr = _refused("--workers", "2", PRODUCER_DELIVERY_MODE="outbox")
    assert "outbox mode runs one worker" in stderr


@pytest.mark.parametrize("workers", ["0", "-1"])
def test_workers_must_be_positive(workers: str) -> None:
    assert "--workers must be at least 1" in _refused("--workers", workers)
