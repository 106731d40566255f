"""Kafka Connect workers from Maven Central: standalone (offsets in a file) or distributed.

A distributed group is N workers sharing one ``group.id`` and three internal topics (configs,
offsets, status) that hold its state; a standalone worker keeps its source offsets in a local
file. Plugins (the file connectors on the classpath; Debezium's PostgreSQL source, its JDBC sink
and any other plugin folder on ``plugin.path``) are resolved and cached like the Kafka jars.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Literal

from kafka_kit.errors import KafkaLaunchError
from kafka_kit.local_kafka.artifacts import (
    CONNECT_VERSION,
    DEBEZIUM_POSTGRES,
    ConnectPlugin,
    resolve_connect_classpath,
    resolve_plugin,
)
from kafka_kit.local_kafka.jvm import java_executable
from kafka_kit.local_kafka.ports import free_ports
from kafka_kit.local_kafka.processes import cmdline, log_tail, pid_alive, spawn, tied_to_parent

__all__ = ["ConnectWorker", "LocalConnect", "stop_detached"]

Mode = Literal["standalone", "distributed"]

# Properties, not YAML: Connect's classpath has no YAML parser for log4j.
_LOG4J2 = """\
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = STDOUT
logger.clients.name = org.apache.kafka.clients
logger.clients.level = WARN
logger.reflections.name = org.reflections
logger.reflections.level = ERROR
"""

_MAIN = {
    "standalone": "org.apache.kafka.connect.cli.ConnectStandalone",
    "distributed": "org.apache.kafka.connect.cli.ConnectDistributed",
}


@dataclass
class ConnectWorker:
    """One worker JVM: its REST URL, its properties and log, the process."""

    index: int
    """Its number in the group, from 0."""
    url: str
    """Its REST address."""
    config_file: Path
    """Its worker properties."""
    log_file: Path
    """Where its output goes."""
    process: subprocess.Popen[bytes] | None = None
    """The JVM, while it runs."""

    @property
    def worker_id(self) -> str:
        """How the group names this worker in statuses (``host:port`` of its REST listener)."""
        return self.url.removeprefix("http://")

    def is_running(self) -> bool:
        """Whether its JVM is alive."""
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL, as a crash would: no rebalance message, no offsets flushed."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)

    def stop(self, timeout_s: float = 30.0) -> None:
        """SIGTERM (tasks stop, offsets are flushed, the group is left), then SIGKILL.

        Args:
            timeout_s: How long before SIGKILL.
        """
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()

    def log_tail(self, lines: int = 40) -> str:
        """The end of its log, for error messages.

        Args:
            lines: How many lines.
        """
        return log_tail(self.log_file, lines)


@dataclass
class LocalConnect:
    """Kafka Connect workers for ``bootstrap_servers``: ``with LocalConnect(...) as connect:``.

    ``workers`` distributed workers form one group (``group_id``); ``mode="standalone"`` runs one
    worker whose source offsets live in ``offsets_file`` (kept across restarts of the worker).
    ``replication`` is the internal topics' replication factor (``-1``: the broker's default).
    """

    bootstrap_servers: str
    """The Kafka cluster the workers use."""
    workers: int = 1
    """Distributed workers in one group."""
    mode: Mode = "distributed"
    """``distributed`` (config, offsets and status in topics) or ``standalone``."""
    group_id: str = "connect-local"
    """The distributed workers' group."""
    replication: int = -1
    """The internal topics' replication factor (``-1``: the broker's default)."""
    directory: Path | None = None
    """Where the workers' files go (a temporary one when omitted)."""
    offsets_file: Path | None = None
    """A standalone worker's source offsets (kept across its restarts)."""
    extra_config: dict[str, str] = field(default_factory=dict)
    """More worker properties."""
    plugins: tuple[ConnectPlugin, ...] = (DEBEZIUM_POSTGRES,)
    """Plugins on ``plugin.path`` (each is scanned at every start: name only what you use)."""
    version: str = CONNECT_VERSION
    """Kafka Connect's version."""
    die_with_parent: bool = True
    """Workers are killed by the kernel when this process dies (False: the CLI's ``start``)."""
    nodes: list[ConnectWorker] = field(default_factory=list, init=False)
    """The workers, once started."""
    _owns_directory: bool = field(default=False, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.mode == "standalone" and self.workers != 1:
            raise KafkaLaunchError("a standalone Connect runs exactly one worker")

    @property
    def urls(self) -> list[str]:
        """The REST URLs of the workers (any of them accepts every request)."""
        return [worker.url for worker in self.nodes]

    @property
    def url(self) -> str:
        """The first worker's REST URL."""
        return self.nodes[0].url

    def __enter__(self) -> LocalConnect:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self, timeout_s: float = 120.0) -> None:
        """Resolve the jars and plugins, start the workers, wait until each REST API answers.

        Args:
            timeout_s: How long until each REST API must answer.
        """
        libs = resolve_connect_classpath(self.version)
        plugins = ",".join(str(resolve_plugin(plugin)) for plugin in self.plugins)
        if self.directory is None:
            self.directory = Path(tempfile.mkdtemp(prefix="kafka-connect-"))
            self._owns_directory = True
        self.directory.mkdir(parents=True, exist_ok=True)
        self._log_config.write_text(_LOG4J2)
        if self.offsets_file is None:
            self.offsets_file = self.directory / "offsets.dat"
        for index, port in enumerate(free_ports(self.workers)):
            worker = ConnectWorker(
                index,
                f"http://127.0.0.1:{port}",
                self.directory / f"worker-{index}.properties",
                self.directory / f"worker-{index}.log",
            )
            worker.config_file.write_text(self._properties(port, plugins))
            self.nodes.append(worker)
        for worker in self.nodes:
            self._launch(worker, libs)
        for worker in self.nodes:
            self._wait_ready(worker, timeout_s)

    def restart(self, worker: ConnectWorker, timeout_s: float = 120.0) -> None:
        """Start ``worker`` again with the same properties (after ``stop`` or ``kill``).

        Args:
            worker: One of :attr:`nodes`.
            timeout_s: How long until its REST API must answer.
        """
        worker.stop()
        self._launch(worker, resolve_connect_classpath(self.version))
        self._wait_ready(worker, timeout_s)

    def pids(self) -> dict[str, int]:
        """Each worker's properties file and JVM pid (for a later ``stop_detached``)."""
        return {str(w.config_file): w.process.pid for w in self.nodes if w.process is not None}

    def stop(self) -> None:
        """Stop every worker; remove the folder this launcher made (nothing left behind)."""
        for worker in self.nodes:
            worker.stop()
        if self._owns_directory and self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)

    @property
    def _log_config(self) -> Path:
        assert self.directory is not None
        return self.directory / "log4j2.properties"

    def _properties(self, port: int, plugins: str) -> str:
        config = {
            "bootstrap.servers": self.bootstrap_servers,
            "key.converter": "org.apache.kafka.connect.json.JsonConverter",
            "value.converter": "org.apache.kafka.connect.json.JsonConverter",
            "key.converter.schemas.enable": "false",
            "value.converter.schemas.enable": "false",
            "listeners": f"http://127.0.0.1:{port}",
            "rest.advertised.host.name": "127.0.0.1",
            "rest.advertised.port": str(port),
            "plugin.path": plugins,
            "offset.flush.interval.ms": "1000",
        }
        if self.mode == "distributed":
            replication = str(self.replication)
            config.update(
                {
                    "group.id": self.group_id,
                    "config.storage.topic": f"{self.group_id}-configs",
                    "offset.storage.topic": f"{self.group_id}-offsets",
                    "status.storage.topic": f"{self.group_id}-status",
                    "config.storage.replication.factor": replication,
                    "offset.storage.replication.factor": replication,
                    "status.storage.replication.factor": replication,
                    # A dead worker's tasks move after this long (the default is 5 minutes).
                    "scheduled.rebalance.max.delay.ms": "5000",
                    "session.timeout.ms": "6000",
                    "heartbeat.interval.ms": "1000",
                }
            )
        else:
            config["offset.storage.file.filename"] = str(self.offsets_file)
        config.update(self.extra_config)
        return "".join(f"{key}={value}\n" for key, value in config.items())

    def _launch(self, worker: ConnectWorker, libs: Path) -> None:
        java = [
            java_executable(),
            "-Xms128m",
            "-Xmx512m",
            f"-Dlog4j2.configurationFile={self._log_config}",
            "-cp",
            f"{libs}/*",
            _MAIN[self.mode],
            str(worker.config_file),
        ]
        command, preexec = tied_to_parent(java) if self.die_with_parent else (java, None)
        log = open(worker.log_file, "ab")  # noqa: SIM115  # the child keeps it open
        with contextlib.closing(log):
            worker.process = spawn(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.directory,
                start_new_session=True,
                preexec_fn=preexec,
            )

    def _wait_ready(self, worker: ConnectWorker, timeout_s: float) -> None:
        # The root resource answers once the REST server runs; /connectors once the worker
        # joined its group and read the config topic (before that it answers 409 or 500).
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not worker.is_running():
                raise KafkaLaunchError(
                    f"Connect worker {worker.index} exited:\n{worker.log_tail()}"
                )
            with (
                contextlib.suppress(OSError, ValueError, urllib.error.URLError),
                urllib.request.urlopen(f"{worker.url}/connectors", timeout=2) as answer,
            ):
                json.load(answer)
                return
            time.sleep(0.3)
        worker.kill()
        raise KafkaLaunchError(
            f"Connect worker {worker.index} did not answer within {timeout_s:.0f} s:\n"
            f"{worker.log_tail()}"
        )


def stop_detached(pids: dict[str, int], timeout_s: float = 30.0) -> None:
    """Stop workers another process started (``pids`` from :meth:`LocalConnect.pids`).

    A pid counts only while its command line still names its properties file: a recycled pid
    belongs to someone else.

    Args:
        pids: Worker URL → process id.
        timeout_s: How long before SIGKILL.
    """
    alive = {pid for path, pid in pids.items() if pid_alive(pid) and path in cmdline(pid)}
    for pid in alive:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while any(pid_alive(pid) for pid in alive) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in alive:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
