"""One Apache Kafka JVM in combined broker+controller (KRaft) mode."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from kafka_kit.local_kafka.processes import cmdline, log_tail, pid_alive, spawn, tied_to_parent

__all__ = ["KafkaNode"]


@dataclass
class KafkaNode:
    """A Kafka node's ports, files and process; it survives restarts of the process."""

    node_id: int
    broker_port: int
    controller_port: int
    directory: Path
    pid: int | None = None
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

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
        """Start the JVM with ``command``, appending its output to the node log."""
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
        """Send ``signum`` to the JVM if it is alive."""
        if self.is_running() and self.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)

    def wait(self, timeout_s: float) -> bool:
        """Wait until the JVM has exited; ``True`` when it has."""
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
        """Stop gracefully (SIGTERM, a controlled shutdown), then SIGKILL after ``timeout_s``."""
        self.send_signal(signal.SIGCONT)  # a paused JVM cannot run its shutdown hooks
        self.send_signal(signal.SIGTERM)
        if not self.wait(timeout_s):
            self.kill()

    def kill(self) -> None:
        """Kill the JVM at once, as a crash would."""
        self.send_signal(signal.SIGKILL)
        self.wait(10.0)

    def log_tail(self, lines: int = 40) -> str:
        """The end of its log, for error messages."""
        return log_tail(self.log_file, lines)
