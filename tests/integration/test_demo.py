"""The demo command: Kafka + both services start, a POST lands, Ctrl-C leaves nothing behind; what
cannot work is refused before Kafka starts."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from kafka_kit.local_kafka.cluster import free_ports, runs_root
from kafka_kit.local_kafka.processes import pid_alive
from tests.readme import console_examples

ROOT = Path(__file__).resolve().parents[2]


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _shape(value: Any) -> Any:
    """What a JSON answer looks like, without the values that differ from run to run."""
    if isinstance(value, dict):
        return {key: item if key == "status" else _shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return type(value).__name__


def _matches(shown: str, printed: str) -> bool:
    try:
        expected = json.loads(shown)
    except ValueError:
        return printed.strip() == shown.strip()
    try:
        return _shape(json.loads(printed)) == _shape(expected)
    except ValueError:
        return False


def _run_the_readme_commands(producer_port: int, consumer_port: int) -> None:
    """Each `$ command` of the README, on this demo's ports; its output shaped as the README shows
    (the consumer's side catches up within moments: a command may be asked again, briefly)."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    examples = console_examples()
    assert len(examples) >= 6
    ports = {"127.0.0.1:8000": producer_port, "127.0.0.1:8001": consumer_port}
    for written, shown in examples:
        command = re.sub("|".join(ports), lambda m: f"127.0.0.1:{ports[m[0]]}", written)
        deadline = time.monotonic() + 30
        while True:
            done = subprocess.run(
                ["bash", "-c", command],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            printed = done.stdout + done.stderr
            if _matches(shown, printed):
                break
            assert time.monotonic() < deadline, f"$ {command}\n{printed}\nREADME shows:\n{shown}"
            time.sleep(0.5)


def _without(name: str) -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key != name}


def test_demo_serves_a_post_and_ctrl_c_stops_everything() -> None:
    producer_port, consumer_port = free_ports(2)
    demo = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "scripts.demo",
            "--local",
            "--nodes",
            "1",
            "--producer-port",
            str(producer_port),
            "--consumer-port",
            str(consumer_port),
        ],
        cwd=ROOT,
        # Without a configured store: the demo's own default, a file in the run's folder.
        # The stream topology runs as in a user's demo (the test session turns it off).
        env={**_without("EVENT_STORE_URL"), "EVENT_STATS_ENABLED": "true", "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    output: list[str] = []
    threading.Thread(
        target=lambda: [lines.put(line) for line in demo.stdout],
        daemon=True,  # type: ignore[union-attr]
    ).start()

    def wait_for_line(text: str, timeout_s: float) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.5)
            except queue.Empty:
                assert demo.poll() is None, "demo exited:\n" + "".join(output)
                continue
            output.append(line)
            if text in line:
                return line
        raise AssertionError(f"no line with {text!r} within {timeout_s} s:\n" + "".join(output))

    try:
        wait_for_line("Ctrl-C stops everything", 180)
        progress = "".join(output)
        for step in ("jars in", "formatting KRaft storage", "starting node 1 of 1", "Kafka ready"):
            assert step in progress
        # This run's events live in this run's Kafka folder, gone with it.
        (stored,) = [line for line in output if line.startswith("events stored in sqlite:///")]
        store = stored.split("sqlite:///")[1].strip()
        assert Path(store).parent.parent == runs_root()
        children = _children(demo.pid)
        assert len(children) >= 3  # the broker JVM and two uvicorn processes
        answer = httpx.post(
            f"http://127.0.0.1:{producer_port}/events",
            json={"type": "demo.ping", "source": "test", "key": "k"},
            timeout=30,
        )
        assert answer.status_code == 202, answer.text
        accepted = answer.json()
        logged = wait_for_line(f"event {accepted['id']}", 60)
        assert f"-{accepted['partition']}@{accepted['offset']}" in logged
        health = httpx.get(f"http://127.0.0.1:{consumer_port}/health", timeout=10).json()
        assert health["status"] == "UP" and health["instance"].endswith("-consumer")
        _run_the_readme_commands(producer_port, consumer_port)
    finally:
        demo.send_signal(signal.SIGINT)
        demo.wait(90)
    deadline = time.monotonic() + 10
    while any(pid_alive(p) for p in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p for p in children if pid_alive(p)], "processes left behind after Ctrl-C"
    assert demo.returncode == 0
    assert not Path(store).exists()


def _refused(
    args: list[str], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    runs_before = set(runs_root().glob("run-*"))
    done = subprocess.run(
        [sys.executable, "-m", "scripts.demo", "--local", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert "starting a" not in done.stdout  # no Kafka was started
    assert set(runs_root().glob("run-*")) <= runs_before
    return done


def test_a_taken_port_is_refused_before_kafka_starts() -> None:
    (free,) = free_ports(1)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _refused(["--producer-port", str(port), "--consumer-port", str(free)])
    assert done.stderr.strip() == (
        f"./dev demo: producer port {port} already in use (another demo?): stop it, or choose "
        "--producer-port / --consumer-port"
    )


def test_a_bad_setting_is_refused_before_kafka_starts() -> None:
    done = _refused([], {"KAFKA_PRODUCER_ACKS": "7"})
    assert done.stderr.splitlines() == ["KAFKA_PRODUCER_ACKS=7: must be 0, 1 or all"]
