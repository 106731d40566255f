"""Start Apache Kafka in KRaft mode on loopback ports: one node, or a cluster of three.

The cluster's lifecycle lives here (start, readiness, stop, per-node faults); its parts by job
beside it: ``jvm`` (the Java command line), ``properties`` (each node's ``server.properties``),
``run_state`` (``cluster.json`` and stale runs), ``acls`` (``kafka-acls``), ``security`` (CA,
SCRAM users), ``node`` (one JVM process).
"""

from __future__ import annotations

import atexit
import base64
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from kafka_kit.errors import KafkaLaunchError
from kafka_kit.local_kafka.acls import Acl, grant_acls, service_acls
from kafka_kit.local_kafka.artifacts import KAFKA_VERSION, resolve_classpath
from kafka_kit.local_kafka.jvm import LOG4J2_YAML, JavaCommand, java_executable
from kafka_kit.local_kafka.node import KafkaNode
from kafka_kit.local_kafka.properties import node_properties
from kafka_kit.local_kafka.readiness import describe_cluster_sync
from kafka_kit.local_kafka.run_state import RunState, remove_stale_runs, runs_root
from kafka_kit.local_kafka.security import ClusterSecurity
from kafka_kit.settings import KafkaSettings

__all__ = [
    "LocalKafkaCluster",
    "free_ports",
    "java_executable",
    "new_cluster_id",
    "remove_stale_runs",
    "runs_root",
]


def new_cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, URL-safe base64 without padding (Kafka's ``Uuid``)."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        # Kafka's Uuid.randomUuid() never returns an id starting with '-': it reads as a CLI flag.
        if not text.startswith("-"):
            return text


def free_ports(count: int) -> list[int]:
    """``count`` distinct loopback ports that were free a moment ago."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


class LocalKafkaCluster:
    """Apache Kafka from Maven Central, ``nodes`` combined broker+controller JVMs on loopback."""

    def __init__(
        self,
        nodes: int = 1,
        *,
        version: str = KAFKA_VERSION,
        broker_config: Mapping[str, str] | None = None,
        startup_timeout_s: float = 120.0,
        die_with_parent: bool = True,
        progress: Callable[[str], None] | None = None,
        security: Literal["sasl_ssl"] | None = None,
        users: tuple[str, ...] = ("app",),
    ) -> None:
        """``progress`` hears each step of :meth:`start` (jars, storage, each node, readiness).

        ``security="sasl_ssl"``: clients connect with SASL_SSL (a throwaway CA made at start,
        SCRAM users ``admin`` and ``users``, ACLs enforced); see :meth:`client_settings`.
        """
        if nodes < 1:
            raise ValueError("a cluster needs at least one node")
        self.version = version
        self.startup_timeout_s = startup_timeout_s
        self.die_with_parent = die_with_parent
        self._extra_config = dict(broker_config or {})
        self.cluster_id = new_cluster_id()
        self.directory: Path | None = None
        self.nodes: list[KafkaNode] = []
        self._node_count = nodes
        self._security_mode = security
        self._users = users
        self.security: ClusterSecurity | None = None
        self._classpath: Path | None = None
        self._java: JavaCommand | None = None
        self._say = progress or (lambda _: None)

    # ---------------------------------------------------------------- addresses
    @property
    def bootstrap_servers(self) -> str:
        """Every node's client listener, comma-separated."""
        return ",".join(node.address for node in self.nodes)

    def node(self, node_id: int) -> KafkaNode:
        """The node with ``node.id`` ``node_id``."""
        for node in self.nodes:
            if node.node_id == node_id:
                return node
        raise KeyError(f"no node {node_id} in this cluster")

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> LocalKafkaCluster:
        """Resolve the jars, format fresh KRaft storage, start every node and wait until ready."""
        self._classpath = resolve_classpath(self.version, progress=self._say)
        remove_stale_runs()
        runs_root().mkdir(parents=True, exist_ok=True)
        self.directory = Path(tempfile.mkdtemp(prefix="run-", dir=runs_root()))
        ports = free_ports(2 * self._node_count)
        self.nodes = [
            KafkaNode(
                node_id=i + 1,
                broker_port=ports[2 * i],
                controller_port=ports[2 * i + 1],
                directory=self.directory / f"node-{i + 1}",
            )
            for i in range(self._node_count)
        ]
        log_config = self.directory / "log4j2.yaml"
        log_config.write_text(LOG4J2_YAML)
        self._java = JavaCommand(self._classpath, log_config)
        if self._security_mode == "sasl_ssl":
            self._say("making a throwaway CA, broker certificate and SCRAM users")
            self.security = ClusterSecurity.sasl_ssl(self.directory / "security", self._users)
        for node in self.nodes:
            node.directory.mkdir(parents=True)
            node.config_file.write_text(
                node_properties(node, self.nodes, security=self.security, extra=self._extra_config)
            )
        if self.die_with_parent:
            atexit.register(self.stop)
        try:
            self._say(
                f"formatting KRaft storage for {self._node_count} node(s) in {self.directory}"
            )
            self._format_storage()
            for node in self.nodes:
                self._say(
                    f"starting node {node.node_id} of {self._node_count} "
                    f"(broker {node.address}, log {node.log_file})"
                )
                self._launch(node)
            self._write_state()
            self._say(f"waiting until {self._node_count} broker(s) registered and answer …")
            self.wait_until_ready()
            self._say(f"Kafka ready: {self.bootstrap_servers}")
        except BaseException:
            self.stop(keep_data=True)
            raise
        return self

    def wait_until_ready(self, timeout_s: float | None = None) -> None:
        """Block until every running node is registered and metadata answers, or raise."""
        deadline = time.monotonic() + (timeout_s or self.startup_timeout_s)
        expected = tuple(sorted(n.node_id for n in self.nodes if n.is_running()))
        last_seen: object = "no answer yet"
        while True:
            for node in self.nodes:
                if node.node_id in expected and not node.is_running():
                    raise KafkaLaunchError(
                        f"Kafka node {node.node_id} exited during start-up "
                        f"(log {node.log_file}):\n{node.log_tail()}"
                    )
            try:
                seen = describe_cluster_sync(
                    self.bootstrap_servers, timeout_s=5.0, client=self.admin_client_config()
                )
                if (
                    seen.broker_ids == expected
                    and seen.controller_id >= 0
                    and seen.group_coordinator_ready
                ):
                    return
                last_seen = seen
            except Exception as exc:  # noqa: BLE001 - any failure means "not ready yet"
                last_seen = exc
            if time.monotonic() >= deadline:
                tails = "\n".join(
                    f"--- node {n.node_id} ({n.log_file}) ---\n{n.log_tail()}" for n in self.nodes
                )
                raise KafkaLaunchError(
                    f"Kafka was not ready within {timeout_s or self.startup_timeout_s:.0f} s: "
                    f"expected brokers {list(expected)}, last answer: {last_seen!r}\n{tails}"
                )
            time.sleep(0.25)

    def stop(self, timeout_s: float = 30.0, *, keep_data: bool = False) -> None:
        """Stop every node (SIGTERM, then SIGKILL after ``timeout_s``) and remove the data."""
        atexit.unregister(self.stop)
        running = [n for n in self.nodes if n.is_running()]
        # All at once: a node waiting for a quorum that is itself shutting down is what takes time.
        for node in running:
            node.send_signal(signal.SIGCONT)  # a paused JVM cannot run its shutdown hooks
            node.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for node in running:
            if not node.wait(max(0.0, deadline - time.monotonic())):
                node.kill()
        if self.directory is not None and not keep_data:
            shutil.rmtree(self.directory, ignore_errors=True)

    def stop_node(self, node_id: int, timeout_s: float = 30.0) -> None:
        """Stop one node gracefully; its data stays so that :meth:`start_node` brings it back."""
        self.node(node_id).stop(timeout_s)

    def kill_node(self, node_id: int) -> None:
        """Kill one node with SIGKILL, as a crash would."""
        self.node(node_id).kill()

    def pause_node(self, node_id: int) -> None:
        """Freeze one node with SIGSTOP: alive but silent, like a long GC pause or a hung host."""
        self.node(node_id).send_signal(signal.SIGSTOP)

    def resume_node(self, node_id: int) -> None:
        """Let a frozen node run again (SIGCONT)."""
        self.node(node_id).send_signal(signal.SIGCONT)

    def start_node(self, node_id: int, *, wait: bool = True) -> None:
        """Restart a stopped node on its old ports and data; by default wait until it is back."""
        node = self.node(node_id)
        if node.is_running():
            return
        self._launch(node)
        self._write_state()
        if wait:
            self.wait_until_ready()

    def __enter__(self) -> LocalKafkaCluster:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ---------------------------------------------------------------- security
    def client_settings(
        self, user: str = "admin", mechanism: str = "SCRAM-SHA-512"
    ) -> KafkaSettings:
        """Settings to reach this cluster as ``user`` (plain ones for an unsecured cluster)."""
        fields = self.security.client_settings(user, mechanism) if self.security else {}
        return KafkaSettings(bootstrap_servers=self.bootstrap_servers, **fields)

    def client_environment(self, user: str = "app") -> dict[str, str]:
        """The ``KAFKA_*`` variables a service needs to reach this cluster (as ``user``, when
        it is secured)."""
        settings = self.client_settings(user) if self.security else self.client_settings()
        env = {"KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers}
        if self.security is not None:
            assert settings.sasl_password is not None
            env.update(
                KAFKA_SECURITY_PROTOCOL=settings.security_protocol,
                KAFKA_SSL_CAFILE=str(settings.ssl_cafile),
                KAFKA_SASL_MECHANISM=str(settings.sasl_mechanism),
                KAFKA_SASL_USERNAME=str(settings.sasl_username),
                KAFKA_SASL_PASSWORD=settings.sasl_password.get_secret_value(),
            )
        return env

    def admin_client_config(self) -> dict[str, Any]:
        """aiokafka keyword arguments (security only) for an admin of this cluster."""
        if self.security is None:
            return {}
        return self.client_settings().security_config()

    def grant(
        self,
        user: str,
        *operations: str,
        topic: str | None = None,
        group: str | None = None,
    ) -> None:
        """Allow ``user`` ``operations`` (``Read``, ``Write``, ``Describe``…) on a topic or group.

        Runs Kafka's own ``kafka-acls`` as ``admin``; a secured cluster only.
        """
        acl = Acl("topic", topic, operations) if topic is not None else Acl(
            "group", str(group), operations
        )  # fmt: skip
        self.grant_acls(user, [acl])

    def grant_service_acls(
        self,
        user: str,
        *,
        topics: Iterable[str],
        groups: Iterable[str],
        streams_applications: Iterable[str] = (),
    ) -> list[str]:
        """Grant ``user`` what a service with these names needs (:func:`service_acls`); the
        ``kafka-acls`` lines that do it, to show or to run elsewhere."""
        acls = service_acls(topics=topics, groups=groups, streams_applications=streams_applications)
        return self.grant_acls(user, acls)

    def grant_acls(self, user: str, acls: Iterable[Acl]) -> list[str]:
        """Allow ``user`` everything ``acls`` name (:func:`~kafka_kit.local_kafka.acls.grant_acls`);
        the ``kafka-acls`` lines that did it."""
        if self.security is None or self.directory is None or self._java is None:
            raise KafkaLaunchError("ACLs need a secured cluster (security='sasl_ssl')")
        config = self.directory / "security" / "admin.properties"
        config.write_text(self.security.java_client_properties())
        return grant_acls(self._java, self.bootstrap_servers, config, user, acls)

    # ---------------------------------------------------------------- state for the CLI
    def _write_state(self) -> None:
        assert self.directory is not None
        RunState(
            self.version,
            self.cluster_id,
            self.nodes,
            self.security,
            owner_pid=os.getpid() if self.die_with_parent else None,
        ).write(self.directory)

    @classmethod
    def attach(cls, directory: Path) -> LocalKafkaCluster:
        """Re-open a cluster started by another process from its run directory."""
        run = RunState.read(directory)
        cluster = cls(len(run.nodes), version=run.version, die_with_parent=False)
        cluster.cluster_id = run.cluster_id
        cluster.directory = directory
        cluster.security = run.security
        cluster.nodes = run.nodes
        return cluster

    # ---------------------------------------------------------------- internals
    def _format_storage(self) -> None:
        # One JVM per node, all at once: formatting is a second of JVM start-up each.
        formatting = [
            (
                node,
                subprocess.Popen(
                    self._java_or_fail()(
                        "kafka.tools.StorageTool",
                        "format",
                        "-t",
                        self.cluster_id,
                        "-c",
                        str(node.config_file),
                        *(self.security.format_arguments() if self.security else ()),
                    ),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                ),
            )
            for node in self.nodes
        ]
        for node, process in formatting:
            output, _ = process.communicate(timeout=120)
            if process.returncode != 0:
                raise KafkaLaunchError(
                    f"formatting KRaft storage of node {node.node_id} failed:\n"
                    + output.decode(errors="replace")[-4000:]
                )

    def _java_or_fail(self) -> JavaCommand:
        if self._java is None:
            raise KafkaLaunchError("the cluster was attached, not started here: no Java command")
        return self._java

    def _launch(self, node: KafkaNode) -> None:
        node.launch(
            self._java_or_fail()("kafka.Kafka", str(node.config_file)),
            die_with_parent=self.die_with_parent,
        )
