"""The demo command: Kafka + both services start, a POST lands, Ctrl-C leaves nothing behind; what
cannot work is refused before Kafka starts."""

from __future__ import annotations

import asyncio
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
import psycopg

from kafka_kit.local_kafka.cluster import free_ports, runs_root
from kafka_kit.local_kafka.processes import pid_alive
from kafka_kit.testing import read_records, wait_until_sync
from tests.asyncapi_parser import errors, validate
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


def _run_the_readme_commands(
    producer_port: int,
    consumer_port: int,
    admin_token: str,
    examples: list[tuple[str, str]],
    exported: dict[str, str] | None = None,
) -> None:
    """Each `$ command` of ``examples``, on this demo's ports, with the admin token it printed
    (and ``exported``) exported as the pages say; its output shaped as the page shows (the
    consumer's side catches up within moments: a command may be asked again, briefly)."""
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "API_ADMIN_TOKEN": admin_token,
        **(exported or {}),
    }
    ports = {"127.0.0.1:8000": producer_port, "127.0.0.1:8001": consumer_port}
    for written, shown in examples:
        command = re.sub("|".join(ports), lambda m: f"127.0.0.1:{ports[m[0]]}", written)
        _run_until_shown(command, shown, env)


def _run_until_shown(command: str, shown: str, env: dict[str, str]) -> None:
    """Run a README command until it prints what the README shows (the demo may be warming)."""
    printed = ""

    def shown_as_in_the_readme() -> bool:
        nonlocal printed
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
        return _matches(shown, printed)

    wait_until_sync(
        shown_as_in_the_readme,
        30,
        lambda: f"$ {command}\n{printed}\nREADME shows:\n{shown}",
        interval_s=0.5,
    )


def _without(*names: str) -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key not in names}


class RunningDemo:
    """``./dev demo --local --nodes 1`` on free ports, its output read line by line."""

    def __init__(self, *extra: str, env: dict[str, str] | None = None) -> None:
        self.producer_port, self.consumer_port = free_ports(2)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "scripts.demo",
                "--local",
                "--nodes",
                "1",
                "--producer-port",
                str(self.producer_port),
                "--consumer-port",
                str(self.consumer_port),
                *extra,
            ],
            cwd=ROOT,
            env={**(env or os.environ), "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(
            target=lambda: [self._lines.put(line) for line in self.process.stdout],  # type: ignore[union-attr]
            daemon=True,
        ).start()

    def wait_for_line(self, text: str, timeout_s: float) -> str:
        """The next line holding ``text``; fails if the demo exits or none comes in time."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                line = self._lines.get(timeout=0.5)
            except queue.Empty:
                assert self.process.poll() is None, "demo exited:\n" + "".join(self.output)
                continue
            self.output.append(line)
            if text in line:
                return line
        raise AssertionError(
            f"no line with {text!r} within {timeout_s} s:\n" + "".join(self.output)
        )

    def wait_for_line_in_output(self, text: str) -> str:
        """A line holding ``text`` already read (or the next one)."""
        for line in self.output:
            if text in line:
                return line
        return self.wait_for_line(text, 60)

    def stop(self) -> list[int]:
        """Ctrl-C; the processes it had started (to check that none is left)."""
        children = _children(self.process.pid)
        self.process.send_signal(signal.SIGINT)
        self.process.wait(120)
        wait_until_sync(
            lambda: not any(pid_alive(p) for p in children), 10, "no process left after Ctrl-C"
        )
        return [p for p in children if pid_alive(p)]


def test_demo_serves_a_post_and_ctrl_c_stops_everything() -> None:
    # Without a configured store: the demo's own default, a file in the run's folder.
    # The stream topology runs as in a user's demo (the test session turns it off), and the admin
    # routes are as a user's demo has them (the test session opens them).
    env = {**_without("EVENT_STORE_URL", "API_ADMIN_OPEN"), "EVENT_STATS_ENABLED": "true"}
    running = RunningDemo(env=env)
    demo, output, wait_for_line = running.process, running.output, running.wait_for_line
    producer_port, consumer_port = running.producer_port, running.consumer_port
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
        stored_event = _wait_stored(consumer_port, accepted["id"])
        assert (stored_event["partition"], stored_event["offset"]) == (
            accepted["partition"],
            accepted["offset"],
        )
        health = httpx.get(f"http://127.0.0.1:{consumer_port}/health", timeout=10).json()
        assert health["status"] == "UP" and health["instance"].endswith("-consumer")
        token = _admin_routes_need_this_runs_token(running)
        examples = console_examples()
        assert len(examples) >= 6
        _run_the_readme_commands(producer_port, consumer_port, token, examples)
        _both_asyncapi_documents_validate(producer_port, consumer_port)
    finally:
        demo.send_signal(signal.SIGINT)
        demo.wait(90)
    wait_until_sync(
        lambda: not any(pid_alive(p) for p in children), 10, "no process left after Ctrl-C"
    )
    assert demo.returncode == 0
    assert not Path(store).exists()


def _admin_routes_need_this_runs_token(running: RunningDemo) -> str:
    """The demo's default: changes need the token it printed, reads stay open."""
    token = running.wait_for_line_in_output("admin token: ").split("admin token: ")[1].strip()
    consumer = f"http://127.0.0.1:{running.consumer_port}"
    pause = f"{consumer}/listeners/event_log/pause"
    refused = httpx.post(pause, timeout=10)
    assert refused.status_code == 401, refused.text
    wrong = httpx.post(pause, headers={"authorization": "Bearer guess"}, timeout=10)
    assert wrong.status_code == 401
    mine = {"authorization": f"Bearer {token}"}
    assert httpx.post(pause, headers=mine, timeout=10).status_code == 200
    resumed = httpx.post(f"{consumer}/listeners/event_log/resume", headers=mine, timeout=10)
    assert resumed.status_code == 200
    assert httpx.get(f"{consumer}/listeners", timeout=10).status_code == 200  # reads: open
    spec = httpx.get(f"{consumer}/openapi.json", timeout=10).json()
    assert spec["paths"]["/listeners/{listener_id}/pause"]["post"]["security"] == [{"bearer": []}]
    return token


def _both_asyncapi_documents_validate(producer_port: int, consumer_port: int) -> None:
    """Each service's /asyncapi.json, as served, passes the AsyncAPI parser; /asyncapi shows it."""
    documents = {
        name: httpx.get(f"http://127.0.0.1:{port}/asyncapi.json", timeout=10).json()
        for name, port in (("producer", producer_port), ("consumer", consumer_port))
    }
    for name, verdict in validate(documents).items():
        assert verdict["valid"], (name, errors(verdict))
    assert documents["producer"]["operations"]["send.events"]["action"] == "send"
    received = documents["consumer"]["operations"]
    assert received["event_log"]["bindings"]["kafka"]["groupId"]["enum"] == ["event-log"]
    assert any(op.get("x-kafka-share-group") for op in received.values())  # the work queue
    page = httpx.get(f"http://127.0.0.1:{consumer_port}/asyncapi", timeout=10)
    assert page.status_code == 200 and "event_log" in page.text, page.text[:500]


def _wait_stored(consumer_port: int, event_id: str) -> dict[str, Any]:
    """The consumer's stored copy of ``event_id``, once it has one."""

    def stored() -> dict[str, Any] | None:
        answer = httpx.get(f"http://127.0.0.1:{consumer_port}/events/{event_id}", timeout=10)
        return answer.json() if answer.status_code == 200 else None  # type: ignore[no-any-return]

    found: dict[str, Any] = wait_until_sync(stored, 60, f"event {event_id} stored", 0.2)
    return found


def test_demo_with_connect_runs_a_source_and_a_sink() -> None:
    running = RunningDemo("--connect", env=_without("EVENT_STORE_URL"))
    consumer = f"http://127.0.0.1:{running.consumer_port}"
    try:
        running.wait_for_line("Ctrl-C stops everything", 300)
        dsn = running.wait_for_line_in_output("PostgreSQL: ").split("PostgreSQL: ")[1].strip()
        sink = running.wait_for_line_in_output("are written to ").split("are written to ")[1]
        with psycopg.connect(dsn, autocommit=True) as db:
            db.execute("INSERT INTO orders (item, qty) VALUES ('book', 1)")
            db.execute("UPDATE orders SET qty = 2 WHERE item = 'book'")
            db.execute(
                "INSERT INTO outbox (aggregatetype, aggregateid, type, payload) "
                """VALUES ('order', '1', 'OrderPaid', '{"order": 1, "paid": true}')"""
            )

        def changes() -> list[tuple[str, int]]:
            answer = httpx.get(f"{consumer}/orders/changes", timeout=10).json()
            return [(c["op"], c["row"]["qty"]) for c in answer]

        wait_until_sync(
            lambda: changes() == [("c", 1), ("u", 2)], 120, "the CDC listener read both"
        )
        posted = httpx.post(
            f"http://127.0.0.1:{running.producer_port}/events",
            json={"type": "demo.ping", "source": "test", "key": "k"},
            timeout=30,
        ).json()
        wait_until_sync(
            lambda: posted["id"] in _text(Path(sink.strip())), 120, "the sink wrote the event"
        )
        routed = asyncio.run(read_records(_bootstrap(running.output), "outbox.event.order", 1))
        assert json.loads(routed[0].value) == {"order": 1, "paid": True}
        assert routed[0].key is not None and b"1" in routed[0].key
        # The Connect lesson's commands, after the changes above (they look at the newest ones).
        lesson = console_examples(connect=True)
        assert len(lesson) >= 8
        exported = {"DEMO_DATABASE_URL": dsn}
        ports = running.producer_port, running.consumer_port
        _run_the_readme_commands(*ports, "", lesson, exported)  # reads only: no token
    finally:
        left = running.stop()
    assert not left, "processes left behind after Ctrl-C"
    assert running.process.returncode == 0


def _text(path: Path) -> str:
    return path.read_text() if path.exists() else ""


def _bootstrap(output: list[str]) -> str:
    return next(line.split()[1] for line in output if line.startswith("Kafka:"))


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


def test_the_secured_demo_runs_end_to_end_as_user_app() -> None:
    running = RunningDemo("--security", "sasl_ssl", env=_without("EVENT_STORE_URL"))
    try:
        running.wait_for_line("Ctrl-C stops everything", 240)
        progress = "".join(running.output)
        assert "granting User:app what the two services need:" in progress
        assert "--operation Create" in progress
        (clients,) = [line for line in running.output if "as User:app:" in line]
        assert "KAFKA_SECURITY_PROTOCOL=SASL_SSL" in clients and "KAFKA_SSL_CAFILE=" in clients
        answer = httpx.post(
            f"http://127.0.0.1:{running.producer_port}/events",
            json={"type": "demo.ping", "source": "test", "key": "k"},
            timeout=30,
        )
        assert answer.status_code == 202, answer.text
        _wait_stored(running.consumer_port, answer.json()["id"])
    finally:
        left = running.stop()
    assert not left, "processes left behind after Ctrl-C"
    assert running.process.returncode == 0


def test_the_traced_demo_shows_a_posted_events_trace_from_jaeger() -> None:
    running = RunningDemo("--tracing", env=_without("EVENT_STORE_URL"))
    consumer = f"http://127.0.0.1:{running.consumer_port}"
    try:
        running.wait_for_line("Ctrl-C stops everything", 300)
        traces = running.wait_for_line_in_output("traces:")
        assert f"{consumer}/console/events" in traces
        posted = httpx.post(
            f"http://127.0.0.1:{running.producer_port}/events",
            json={"type": "demo.ping", "source": "test", "key": "k"},
            timeout=30,
        ).json()
        trace_id = _wait_stored(running.consumer_port, posted["id"])["trace_id"]
        assert trace_id is not None

        def drawn() -> str | None:
            page = httpx.get(f"{consumer}/console/traces/{trace_id}", timeout=10).text
            return page if "store events" in page and "POST /events" in page else None

        page = wait_until_sync(drawn, 60, "the console drawing the trace from Jaeger")
        assert "producer-service" in page and "consumer-service" in page
    finally:
        left = running.stop()
    assert not left, "processes left behind after Ctrl-C"
    assert running.process.returncode == 0
