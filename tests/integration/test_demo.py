"""The demo command: Kafka + both services start, a POST lands, Ctrl-C leaves nothing behind."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from kafka_kit.local_kafka.cluster import free_ports
from kafka_kit.local_kafka.processes import pid_alive

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


def test_demo_serves_a_post_and_ctrl_c_stops_everything() -> None:
    producer_port, consumer_port = free_ports(2)
    demo = subprocess.Popen(
        [
            sys.executable,
            "scripts/demo.py",
            "--local",
            "--nodes",
            "1",
            "--producer-port",
            str(producer_port),
            "--consumer-port",
            str(consumer_port),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
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
    finally:
        demo.send_signal(signal.SIGINT)
        demo.wait(90)
    deadline = time.monotonic() + 10
    while any(pid_alive(p) for p in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p for p in children if pid_alive(p)], "processes left behind after Ctrl-C"
    assert demo.returncode == 0
