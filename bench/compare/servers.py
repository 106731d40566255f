"""RabbitMQ and Redis from Debian's packages, each started privately: own folder, own ports.

As the launcher does for Kafka, nothing system-wide is touched: no service is enabled, the data
lives in a temporary folder, and the process dies with the run.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from kafka_kit.local_kafka.cluster import free_ports
from kafka_kit.local_kafka.processes import spawn, tied_to_parent

RABBITMQ_SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")
"""The server's own script (``/usr/sbin/rabbitmq-server`` would switch to the system's user)."""


def missing() -> list[str]:
    """The Debian packages this machine lacks for the comparison."""
    needed = {
        "rabbitmq-server": RABBITMQ_SERVER.exists(),
        "redis-server": bool(shutil.which("redis-server")),
    }
    return [name for name, found in needed.items() if not found]


def _start(
    command: list[str], log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """``command`` with its output in ``log``, killed by the kernel if this process dies."""
    tied, preexec = tied_to_parent(command)
    with log.open("ab") as output:
        return spawn(tied, stdout=output, stderr=subprocess.STDOUT, env=env, preexec_fn=preexec)


def _wait_for_port(
    port: int, process: subprocess.Popen[bytes], log: Path, timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.2)
    raise RuntimeError(f"not listening on {port} after {timeout_s} s:\n{log.read_text()[-3000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """A private ``redis-server`` (no persistence); yields its URL."""
    (port,) = free_ports(1)
    with tempfile.TemporaryDirectory(prefix="compare-redis-") as folder:
        log = Path(folder) / "redis.log"
        command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", folder,
                   "--save", "", "--appendonly", "no", "--logfile", str(log)]  # fmt: skip
        process = _start(command, Path(folder) / "stdout.log")
        try:
            _wait_for_port(port, process, log, 30)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            _stop(process)


@contextlib.contextmanager
def rabbitmq_server() -> Iterator[str]:
    """A private RabbitMQ node (its own name, ports, database and Erlang cookie); yields its URL."""
    amqp, dist = free_ports(2)
    with tempfile.TemporaryDirectory(prefix="compare-rabbitmq-") as folder:
        base = Path(folder)
        (base / "enabled_plugins").write_text("[].\n")
        env = {
            **os.environ,
            "HOME": folder,  # its Erlang cookie
            "RABBITMQ_NODENAME": f"compare-{amqp}@localhost",
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(amqp),
            "RABBITMQ_DIST_PORT": str(dist),
            "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(base / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq"),
        }
        (base / "rabbitmq.conf").write_text("loopback_users = none\n")
        log = base / "server.log"
        process = _start([str(RABBITMQ_SERVER)], log, env)
        try:
            _wait_for_port(amqp, process, log, 120)
            yield f"amqp://guest:guest@127.0.0.1:{amqp}/"
        finally:
            _stop(process)
