"""One Apache Kafka JVM in combined broker+controller (KRaft) mode."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kafka_kit.errors import KafkaLaunchError
from kafka_kit.local_kafka.processes import cmdline, log_tail, pid_alive, spawn, tied_to_parent

__all__ = ["KafkaNode", "format_storage"]


@dataclass
class KafkaNode:
    """A Kafka node's ports, files and process; it survives restarts of the process."""

    node_id: int
    """Its ``node.id``."""
    broker_port: int
    """The client listener's port."""
    controller_port: int
    """The KRaft controller listener's port."""
    directory: Path
    """Its config, data and log."""
    pid: int | None = None
    """The JVM's process id, while it runs."""
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def config_file(self) -> Path:
        """The node's ``server.properties``."""
        return self.directory / "server.properties"

    @property
    def data_dir(self) -> Path:
        """The node's ``log.dirs``: its partitions and KRaft metadata log."""
        return self.directory / "data"

    @property
    def log_file(self) -> Path:
        """Where the JVM's stdout and stderr (the broker log) go."""
        return self.directory / "kafka.log"

    @property
    def address(self) -> str:
        """The node's client listener, ``host:port``."""
        return f"127.0.0.1:{self.broker_port}"

    def launch(self, command: list[str], *, die_with_parent: bool) -> None:
        """Start the JVM with ``command``, appending its output to the node log.

        Args:
            command: The JVM's command line.
            die_with_parent: The kernel kills it when this process dies.
        """
        preexec = None
        if die_with_parent:
            command, preexec = tied_to_parent(command)
        with open(self.log_file, "ab") as log:
            self._process = spawn(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.directory,
                # Its own session: a Ctrl-C meant for the demo does not reach the JVM before we
                # stop it in order.
                start_new_session=True,
                preexec_fn=preexec,
            )
        self.pid = self._process.pid

    def is_running(self) -> bool:
        """Whether the JVM started for this node is alive."""
        if self._process is not None:
            return self._process.poll() is None
        return self.pid is not None and pid_alive(self.pid) and self._owns_pid()

    def _owns_pid(self) -> bool:
        # A pid read back from a state file may have been reused by an unrelated process.
        return self.pid is not None and str(self.config_file) in cmdline(self.pid)

    def send_signal(self, signum: int) -> None:
        """Send ``signum`` to the JVM if it is alive.

        Args:
            signum: The signal.
        """
        if self.is_running() and self.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)

    def wait(self, timeout_s: float) -> bool:
        """Wait until the JVM has exited; ``True`` when it has.

        Args:
            timeout_s: How long to wait.
        """
        if self._process is not None:
            try:
                self._process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                return False
            return True
        deadline = time.monotonic() + timeout_s
        while self.is_running():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)
        return True

    def stop(self, timeout_s: float) -> None:
        """Stop gracefully (SIGTERM, a controlled shutdown), then SIGKILL after ``timeout_s``.

        Args:
            timeout_s: How long before SIGKILL.
        """
        self.send_signal(signal.SIGCONT)  # a paused JVM cannot run its shutdown hooks
        self.send_signal(signal.SIGTERM)
        if not self.wait(timeout_s):
            self.kill()

    def kill(self) -> None:
        """Kill the JVM at once, as a crash would."""
        self.send_signal(signal.SIGKILL)
        self.wait(10.0)

    def log_tail(self, lines: int = 40) -> str:
        """The end of its log, for error messages.

        Args:
            lines: How many lines.
        """
        return log_tail(self.log_file, lines)


def format_storage(
    nodes: Sequence[KafkaNode],
    java: Callable[..., list[str]],
    cluster_id: str,
    extra: Sequence[str] = (),
) -> None:
    """Format every node's KRaft storage for ``cluster_id`` (Kafka's ``StorageTool``).

    Args:
        nodes: The nodes, their ``server.properties`` written.
        java: Builds a Java command line.
        cluster_id: The new cluster's id.
        extra: More ``format`` arguments (the SCRAM users of a secured cluster).
    """
    # One JVM per node, all at once: formatting is a second of JVM start-up each.
    formatting = [
        (
            node,
            subprocess.Popen(
                java(
                    "kafka.tools.StorageTool",
                    "format",
                    "-t",
                    cluster_id,
                    "-c",
                    str(node.config_file),
                    *extra,
                ),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            ),
        )
        for node in nodes
    ]
    for node, process in formatting:
        output, _ = process.communicate(timeout=120)
        if process.returncode != 0:
            raise KafkaLaunchError(
                f"formatting KRaft storage of node {node.node_id} failed:\n"
                + output.decode(errors="replace")[-4000:]
            )
