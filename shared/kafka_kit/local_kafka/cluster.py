"""Start Apache Kafka in KRaft mode on loopback ports: one node, or a cluster of three.

The cluster's lifecycle lives here (start, readiness, stop, per-node faults); its parts by job
beside it: ``jvm`` (the Java command line), ``properties`` (each node's ``server.properties``),
``node`` (one JVM process, formatting its storage), ``readiness`` (until every node answers),
``run_state`` (``cluster.json`` and stale runs), ``ports``, ``acls`` (``kafka-acls``) and
``security`` (CA, SCRAM users).
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from kafka_kit.errors import KafkaLaunchError
from kafka_kit.local_kafka.acls import Acl, grant_acls, service_acls
from kafka_kit.local_kafka.artifacts import KAFKA_VERSION, resolve_classpath
from kafka_kit.local_kafka.jvm import LOG4J2_YAML, JavaCommand, java_executable
from kafka_kit.local_kafka.node import KafkaNode, format_storage
from kafka_kit.local_kafka.ports import free_ports, new_cluster_id
from kafka_kit.local_kafka.properties import node_properties
from kafka_kit.local_kafka.readiness import wait_for_nodes
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


class LocalKafkaCluster:
    """Apache Kafka from Maven Central, ``nodes`` combined broker+controller JVMs on loopback.

    Args:
        nodes: Combined broker+controller nodes: 1, or 3 for a quorum.
        version: The Kafka version (jars from Maven Central).
        broker_config: More ``server.properties``, over the launcher's.
        startup_timeout_s: How long the nodes may take to be ready.
        die_with_parent: The kernel kills the nodes when this process dies.
        progress: Hears each step of :meth:`start` (jars, storage, each node, readiness).
        security: ``sasl_ssl``: clients connect with SASL_SSL (a throwaway CA made at start, SCRAM
            users ``admin`` and ``users``, ACLs enforced).
        users: SCRAM users besides ``admin``.
    """

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
        """The node with ``node.id`` ``node_id``.

        Args:
            node_id: The node's ``node.id``.
        """
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
        """Block until every running node is registered and metadata answers, or raise.

        Args:
            timeout_s: How long to wait (``startup_timeout_s`` when omitted).
        """
        wait_for_nodes(
            self.nodes,
            self.bootstrap_servers,
            self.admin_client_config(),
            timeout_s or self.startup_timeout_s,
        )

    def stop(self, timeout_s: float = 30.0, *, keep_data: bool = False) -> None:
        """Stop every node (SIGTERM, then SIGKILL after ``timeout_s``) and remove the data.

        Args:
            timeout_s: How long the nodes may take to stop before they are killed.
            keep_data: Keep the run directory (logs, data).
        """
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
        """Stop one node gracefully; its data stays so that :meth:`start_node` brings it back.

        Args:
            node_id: The node's ``node.id``.
            timeout_s: How long it may take before it is killed.
        """
        self.node(node_id).stop(timeout_s)

    def kill_node(self, node_id: int) -> None:
        """Kill one node with SIGKILL, as a crash would.

        Args:
            node_id: The node's ``node.id``.
        """
        self.node(node_id).kill()

    def pause_node(self, node_id: int) -> None:
        """Freeze one node with SIGSTOP: alive but silent, like a long GC pause or a hung host.

        Args:
            node_id: The node's ``node.id``.
        """
        self.node(node_id).send_signal(signal.SIGSTOP)

    def resume_node(self, node_id: int) -> None:
        """Let a frozen node run again (SIGCONT).

        Args:
            node_id: The node's ``node.id``.
        """
        self.node(node_id).send_signal(signal.SIGCONT)

    def start_node(self, node_id: int, *, wait: bool = True) -> None:
        """Restart a stopped node on its old ports and data; by default wait until it is back.

        Args:
            node_id: The node's ``node.id``.
            wait: Wait until every running node is ready again.
        """
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
        """Settings to reach this cluster as ``user`` (plain ones for an unsecured cluster).

        Args:
            user: The SCRAM user, on a secured cluster.
            mechanism: ``SCRAM-SHA-512``, ``SCRAM-SHA-256`` or ``PLAIN``.
        """
        fields = self.security.client_settings(user, mechanism) if self.security else {}
        return KafkaSettings(bootstrap_servers=self.bootstrap_servers, **fields)

    def client_environment(self, user: str = "app") -> dict[str, str]:
        """The ``KAFKA_*`` variables a service needs to reach this cluster (as ``user``, when
        it is secured).

        Args:
            user: The SCRAM user, on a secured cluster.
        """
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

        Args:
            user: The SCRAM user.
            operations: Kafka's operation names.
            topic: The topic (or give ``group``).
            group: The consumer group.
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
        ``kafka-acls`` lines that do it, to show or to run elsewhere.

        Args:
            user: The SCRAM user.
            topics: Topics the service writes (each a prefix).
            groups: Consumer groups it reads as.
            streams_applications: Stream application ids it runs.
        """
        acls = service_acls(topics=topics, groups=groups, streams_applications=streams_applications)
        return self.grant_acls(user, acls)

    def grant_acls(self, user: str, acls: Iterable[Acl]) -> list[str]:
        """Allow ``user`` everything ``acls`` name (:func:`~kafka_kit.local_kafka.acls.grant_acls`);
        the ``kafka-acls`` lines that did it.

        Args:
            user: The SCRAM user.
            acls: What to allow.
        """
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
        """Re-open a cluster started by another process from its run directory.

        Args:
            directory: The run directory (holds ``cluster.json``).
        """
        run = RunState.read(directory)
        cluster = cls(len(run.nodes), version=run.version, die_with_parent=False)
        cluster.cluster_id = run.cluster_id
        cluster.directory = directory
        cluster.security = run.security
        cluster.nodes = run.nodes
        return cluster

    # ---------------------------------------------------------------- internals
    def _format_storage(self) -> None:
        extra = self.security.format_arguments() if self.security else ()
        format_storage(self.nodes, self._java_or_fail(), self.cluster_id, extra)

    def _java_or_fail(self) -> JavaCommand:
        if self._java is None:
            raise KafkaLaunchError("the cluster was attached, not started here: no Java command")
        return self._java

    def _launch(self, node: KafkaNode) -> None:
        node.launch(
            self._java_or_fail()("kafka.Kafka", str(node.config_file)),
            die_with_parent=self.die_with_parent,
        )
