"""Every Python example in README.md runs as written against a real broker.

Each block starts with its file name (`# send.py — …`): a program is run with `python`, a
`test_*.py` with pytest (and kafka_kit's plugin, as a user's project would), a FastAPI app with
`uvicorn` until its `/health` answers UP. Examples that say they need three brokers get the
three-node cluster.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from kafka_kit.local_kafka.cluster import free_ports
from kafka_kit.testing import wait_until_sync
from tests.app_helpers import wait_healthy
from tests.readme import code_blocks

EXAMPLES = code_blocks("python")
FILE_NAME = re.compile(r"^# (\w+\.py)\b")


def _name(source: str) -> str:
    found = FILE_NAME.match(source)
    assert found, f"a README example must start with its file name: {source.splitlines()[0]!r}"
    return found.group(1)


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=240, check=False
    )
    assert done.returncode == 0, f"{command}:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return done.stdout


def _serve(module: str, cwd: Path, env: dict[str, str]) -> None:
    (port,) = free_ports(1)
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", f"{module}:app", "--port", str(port)],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_healthy(server, f"http://127.0.0.1:{port}", 120, status="UP")
    finally:
        server.send_signal(signal.SIGINT)  # Ctrl-C: the lifespan stops the listeners
        output, _ = server.communicate(timeout=60)
    assert server.returncode == 0, output[-4000:]


def _kafka_kit_run(app: str, cwd: Path, env: dict[str, str]) -> None:
    """``kafka-kit run app`` until it printed what its listener heard, then Ctrl-C: exit 0."""
    log = cwd / "output.txt"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "kafka_kit.cli", "run", app],
            cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        try:

            def heard() -> bool:
                assert process.poll() is None, log.read_text()[-4000:]
                return "hello, world!" in log.read_text()

            wait_until_sync(heard, 120, lambda: log.read_text()[-4000:], interval_s=0.2)
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=60)
    assert process.returncode == 0, log.read_text()[-4000:]
    assert "kafka app stopping" in log.read_text()


def test_the_first_example_is_a_whole_program_of_at_most_15_lines() -> None:
    first = EXAMPLES[0]
    assert "kafka-kit run" in first.splitlines()[0]
    assert len([line for line in first.splitlines() if line.strip()]) <= 15


def test_every_example_names_its_file() -> None:
    names = [_name(source) for source in EXAMPLES]
    assert len(names) == len(set(names)) >= 7


@pytest.mark.parametrize("source", EXAMPLES, ids=[_name(s) for s in EXAMPLES])
def test_the_example_runs_as_written(
    source: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    name = _name(source)
    first_line = source.splitlines()[0]
    fixture = "kafka_cluster" if "three brokers" in first_line else "kafka_broker"
    bootstrap = request.getfixturevalue(fixture).bootstrap_servers
    (tmp_path / name).write_text(source)
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "PYTHONUNBUFFERED": "1"}
    if name.startswith("test_"):
        # The user's own project: its folder, no configuration of ours, the plugin by entry point.
        output = _run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", name], tmp_path, env
        )
        assert " passed" in output and f"[kafka] single broker: {bootstrap} (from env)" in output
    elif "uvicorn" in first_line:
        _serve(name.removesuffix(".py"), tmp_path, env)
    elif "kafka-kit run" in first_line:
        _kafka_kit_run(first_line.split("kafka-kit run ")[1].split()[0], tmp_path, env)
    else:
        _run([sys.executable, name], tmp_path, env)
