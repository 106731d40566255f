"""``kafka-kit run`` as a user runs it (a subprocess, a real broker): Ctrl-C stops it with exit
code 0 and its commits flushed, ``--workers 2`` splits the partitions, ``--reload`` picks up an
edit, and a bad ``module:attr`` is one clear line."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kafka_kit.testing import committed_offsets, wait_until
from tests.kafka_helpers import create_topic, group_assignment, produce

KAFKA_KIT = [sys.executable, "-m", "kafka_kit.cli"]

HELLO = """\
import os
from pathlib import Path

from kafka_kit import KafkaApp

app = KafkaApp()
PREFIX = "v1"


@app.listener(os.environ["HELLO_TOPIC"])
async def hello(name: str, partition: int) -> None:
    with Path(os.environ["HELLO_OUT"]).open("a") as out:
        out.write(f"{PREFIX} {os.getpid()} {partition} {name}\\n")
"""


@pytest.fixture
def hello(
    tmp_path: Path, kafka_bootstrap_servers: str, topic_name: str
) -> Iterator[dict[str, str]]:
    (tmp_path / "hello.py").write_text(HELLO)
    yield {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap_servers,
        "KAFKA_CONSUMER_GROUP_ID": f"cli-{topic_name}",
        "KAFKA_CONSUMER_POLL_TIMEOUT_MS": "200",
        "KAFKA_CONSUMER_HEARTBEAT_INTERVAL_MS": "300",
        "KAFKA_CONSUMER_SESSION_TIMEOUT_MS": "6000",
        "HELLO_TOPIC": topic_name,
        "HELLO_OUT": str(tmp_path / "out.txt"),
    }


def _lines(env: dict[str, str]) -> list[list[str]]:
    out = Path(env["HELLO_OUT"])
    return [line.split() for line in out.read_text().splitlines()] if out.exists() else []


def _start(env: dict[str, str], *options: str) -> subprocess.Popen[str]:
    # Output to a file, not a pipe: nobody reads a pipe while the test runs, and apps that log
    # more than it holds would block writing to it.
    folder = Path(env["HELLO_OUT"]).parent
    with (folder / "kafka-kit.log").open("w") as output:  # the child keeps its own copy
        return subprocess.Popen(
            [*KAFKA_KIT, "run", "hello:app", *options],
            cwd=folder,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
        )


def _stop(
    process: subprocess.Popen[str], env: dict[str, str], signum: int = signal.SIGINT
) -> tuple[int, str]:
    """Signal it, wait for it to end; its exit code and everything it printed."""
    process.send_signal(signum)
    log = Path(env["HELLO_OUT"]).parent / "kafka-kit.log"
    try:
        process.wait(timeout=90)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=30)
        raise AssertionError(
            f"still running 90 s after {signum}:\n{log.read_text()[-4000:]}"
        ) from None
    return process.returncode, log.read_text()


async def test_run_handles_records_and_ctrl_c_stops_with_its_commits_flushed(
    hello: dict[str, str], topic_name: str
) -> None:
    bootstrap = hello["KAFKA_BOOTSTRAP_SERVERS"]
    await create_topic(bootstrap, topic_name, partitions=1)
    process = _start(hello)
    try:
        await produce(bootstrap, topic_name, [f"n{i}".encode() for i in range(5)])
        await wait_until(lambda: len(_lines(hello)) == 5, 60, "five records handled")
    finally:
        code, output = _stop(process, hello)
    assert code == 0, output
    assert "kafka app started" in output and "received SIGINT" in output
    committed = await committed_offsets(bootstrap, hello["KAFKA_CONSUMER_GROUP_ID"])
    assert committed == {(topic_name, 0): 5}


async def test_two_workers_share_the_group_and_split_the_partitions(
    hello: dict[str, str], topic_name: str
) -> None:
    bootstrap = hello["KAFKA_BOOTSTRAP_SERVERS"]
    group = hello["KAFKA_CONSUMER_GROUP_ID"]
    await create_topic(bootstrap, topic_name, partitions=4)
    process = _start(hello, "--workers", "2")
    try:

        async def split() -> bool:
            owned = await group_assignment(bootstrap, group)
            return len(owned) == 2 and all(owned.values())

        await wait_until(split, 90, "two members, each with partitions")
        for partition in range(4):
            await produce(bootstrap, topic_name, [b"x"], partition=partition)
        await wait_until(lambda: len(_lines(hello)) == 4, 60, "a record per partition")
    finally:
        code, output = _stop(process, hello, signal.SIGTERM)
    assert code == 0, output
    pids = {pid for _, pid, _, _ in _lines(hello)}
    assert len(pids) == 2 and str(process.pid) not in pids  # handled in the two workers
    assert sum((await committed_offsets(bootstrap, group)).values()) == 4


async def test_reload_restarts_the_app_when_its_file_changes(
    hello: dict[str, str], topic_name: str
) -> None:
    bootstrap = hello["KAFKA_BOOTSTRAP_SERVERS"]
    await create_topic(bootstrap, topic_name, partitions=1)
    process = _start(hello, "--reload")
    try:
        await produce(bootstrap, topic_name, [b"before"])
        await wait_until(lambda: len(_lines(hello)) == 1, 60, "the first record")
        source = Path(hello["HELLO_OUT"]).parent / "hello.py"
        source.write_text(source.read_text().replace('PREFIX = "v1"', 'PREFIX = "v2"'))
        deadline = time.monotonic() + 90
        sent = 0
        # Until the edited app answers: the old one may take a record while it is stopping.
        while not any(line[0] == "v2" for line in _lines(hello)):
            assert time.monotonic() < deadline, f"never reloaded: {_lines(hello)}"
            await produce(bootstrap, topic_name, [f"after-{sent}".encode()])
            sent += 1
            await asyncio.sleep(1)
    finally:
        code, output = _stop(process, hello)
    assert code == 0, output
    assert "hello.py changed: restarting the app" in output


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("empty", "module 'empty' has no attribute 'app' (it has no KafkaApp)"),
        ("missing:app", "cannot import module 'missing'"),
        ("hello:PREFIX", "hello:PREFIX is a str, not a KafkaApp"),
        ("hello:nope", "has no attribute 'nope' (its KafkaApp objects: app)"),
        ("not a module", "is not module:attribute"),
    ],
)
def test_a_bad_app_is_one_clear_line_and_exit_code_1(tmp_path: Path, spec: str, says: str) -> None:
    (tmp_path / "hello.py").write_text(HELLO)
    (tmp_path / "empty.py").write_text("X = 1\n")
    env = {**os.environ, "HELLO_TOPIC": "t", "HELLO_OUT": str(tmp_path / "out.txt")}
    done = subprocess.run(
        [*KAFKA_KIT, "run", spec], check=False, cwd=tmp_path, env=env, capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("kafka-kit: AppNotFoundError: ") and says in line, line
