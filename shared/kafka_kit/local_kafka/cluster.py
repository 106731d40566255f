"""Start Apache Kafka in KRaft mode on loopback ports: one node, or a cluster of three."""

from __future__ import annotations

import atexit
import base64
import json
import os
import shlex
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
from kafka_kit.local_kafka.acls import Acl, service_acls
from kafka_kit.local_kafka.artifacts import KAFKA_VERSION, resolve_classpath
from kafka_kit.local_kafka.node import KafkaNode
from kafka_kit.local_kafka.processes import pid_alive
from kafka_kit.local_kafka.readiness import describe_cluster_sync
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


DEFAULT_HEAP_OPTS = "-Xms256m -Xmx512m"
DEFAULT_JVM_OPTS = "-XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true"

_LOG4J2_YAML = """\
Configuration:
  Appenders:
    Console:
      name: STDOUT
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Logger:
      - name: org.apache.kafka.common.config.AbstractConfig
        level: WARN
      - name: state.change.logger
        level: WARN
    Root:
      level: INFO
      AppenderRef:
        - ref: STDOUT
"""


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


def java_executable() -> str:
    """The ``java`` to run Kafka with: ``$JAVA_HOME/bin/java`` or the one on PATH."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").exists():
        return str(Path(java_home) / "bin" / "java")
    found = shutil.which("java")
    if found is None:
        raise KafkaLaunchError("Java 17+ is needed to run the local Kafka: no 'java' on PATH")
    return found


def runs_root() -> Path:
    """Where every local cluster gets its fresh data directory."""
    return Path(tempfile.gettempdir()) / "kafka-local-runs"


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
        (self.directory / "log4j2.yaml").write_text(_LOG4J2_YAML)
        if self._security_mode == "sasl_ssl":
            self._say("making a throwaway CA, broker certificate and SCRAM users")
            self.security = ClusterSecurity.sasl_ssl(self.directory / "security", self._users)
        for node in self.nodes:
            node.directory.mkdir(parents=True)
            node.config_file.write_text(self._server_properties(node))
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

    def grant_service_acls(self, user: str = "app") -> list[str]:
        """Grant ``user`` what the producer and consumer services need (:func:`service_acls`);
        the ``kafka-acls`` lines that do it, to show or to run elsewhere."""
        acls = service_acls()
        self.grant_acls(user, acls)
        return [acl.command(f"User:{user}") for acl in acls]

    def grant_acls(self, user: str, acls: Iterable[Acl]) -> None:
        """Allow ``user`` everything ``acls`` name: one ``kafka-acls`` run per pattern type and
        set of operations (each run starts a JVM)."""
        if self.security is None or self.directory is None:
            raise KafkaLaunchError("ACLs need a secured cluster (security='sasl_ssl')")
        config = self.directory / "security" / "admin.properties"
        config.write_text(self.security.java_client_properties())
        runs: dict[tuple[bool, tuple[str, ...]], list[Acl]] = {}
        for acl in acls:
            runs.setdefault((acl.prefixed, acl.operations), []).append(acl)
        for together in runs.values():
            arguments = [
                "--bootstrap-server", self.bootstrap_servers, "--command-config", str(config),
                "--add", "--allow-principal", f"User:{user}",
                *(a for acl in together for a in acl.resource()), *together[0].rest(),
            ]  # fmt: skip
            done = subprocess.run(
                self._java_command("org.apache.kafka.tools.AclCommand", *arguments),
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            if done.returncode != 0:
                raise KafkaLaunchError(
                    f"kafka-acls failed: {done.stdout[-2000:]}{done.stderr[-2000:]}"
                )

    # ---------------------------------------------------------------- state for the CLI
    def _write_state(self) -> None:
        assert self.directory is not None
        state = {
            "version": self.version,
            "cluster_id": self.cluster_id,
            "bootstrap_servers": self.bootstrap_servers,
            # A process that owns its brokers may stop and restart them: while it lives, its
            # run is not stale even with every node down.
            "owner_pid": os.getpid() if self.die_with_parent else None,
            "security": (
                {"directory": str(self.security.directory), "users": self.security.users}
                if self.security
                else None
            ),
            "nodes": [
                {
                    "node_id": n.node_id,
                    "broker_port": n.broker_port,
                    "controller_port": n.controller_port,
                    "directory": str(n.directory),
                    "pid": n.pid,
                }
                for n in self.nodes
            ],
        }
        (self.directory / "cluster.json").write_text(json.dumps(state, indent=2))

    @classmethod
    def attach(cls, directory: Path) -> LocalKafkaCluster:
        """Re-open a cluster started by another process from its run directory."""
        state = json.loads((directory / "cluster.json").read_text())
        cluster = cls(len(state["nodes"]), version=state["version"], die_with_parent=False)
        cluster.cluster_id = state["cluster_id"]
        cluster.directory = directory
        secured = state.get("security")
        if secured:
            cluster.security = ClusterSecurity(Path(secured["directory"]), secured["users"])
        cluster.nodes = [
            KafkaNode(
                node_id=n["node_id"],
                broker_port=n["broker_port"],
                controller_port=n["controller_port"],
                directory=Path(n["directory"]),
                pid=n["pid"],
            )
            for n in state["nodes"]
        ]
        return cluster

    # ---------------------------------------------------------------- internals
    def _server_properties(self, node: KafkaNode) -> str:
        config = self._plain_properties(node)
        if self.security is not None:
            config.update(self.security.broker_properties(node.broker_port, node.controller_port))
        config.update(self._extra_config)
        return "".join(f"{k}={v}\n" for k, v in config.items())

    def _plain_properties(self, node: KafkaNode) -> dict[str, str]:
        count = self._node_count
        replication = min(3, count)
        min_isr = 1 if count == 1 else 2
        voters = ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in self.nodes)
        config = {
            "process.roles": "broker,controller",
            "node.id": str(node.node_id),
            "controller.quorum.voters": voters,
            "listeners": (
                f"PLAINTEXT://127.0.0.1:{node.broker_port},"
                f"CONTROLLER://127.0.0.1:{node.controller_port}"
            ),
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{node.broker_port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": str(node.data_dir),
            "num.partitions": "1",
            "default.replication.factor": str(replication),
            "min.insync.replicas": str(min_isr),
            # Kafka's defaults (50 partitions each) take long to create on a two-core machine.
            "offsets.topic.num.partitions": str(max(1, count)),
            "offsets.topic.replication.factor": str(replication),
            "transaction.state.log.num.partitions": str(max(1, count)),
            "transaction.state.log.replication.factor": str(replication),
            "transaction.state.log.min.isr": str(min_isr),
            "share.coordinator.state.topic.replication.factor": str(replication),
            "share.coordinator.state.topic.min.isr": str(min_isr),
            # The first consumer of a group should not wait 3 s for others that never come.
            "group.initial.rebalance.delay.ms": "0",
        }
        if count > 1:
            # Notice a dead broker in 4 s rather than 9 s: leaders move sooner (a dev cluster).
            config["broker.heartbeat.interval.ms"] = "1000"
            config["broker.session.timeout.ms"] = "4000"
        return config

    def _java_command(self, main_class: str, *args: str) -> list[str]:
        assert self._classpath is not None and self.directory is not None
        heap = os.environ.get("KAFKA_HEAP_OPTS", DEFAULT_HEAP_OPTS)
        jvm = os.environ.get("KAFKA_JVM_PERFORMANCE_OPTS", DEFAULT_JVM_OPTS)
        return [
            java_executable(),
            *shlex.split(heap),
            *shlex.split(jvm),
            f"-Dlog4j2.configurationFile={self.directory / 'log4j2.yaml'}",
            "-cp",
            f"{self._classpath}/*",
            main_class,
            *args,
        ]

    def _format_storage(self) -> None:
        # One JVM per node, all at once: formatting is a second of JVM start-up each.
        formatting = [
            (
                node,
                subprocess.Popen(
                    self._java_command(
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

    def _launch(self, node: KafkaNode) -> None:
        node.launch(
            self._java_command("kafka.Kafka", str(node.config_file)),
            die_with_parent=self.die_with_parent,
        )


def remove_stale_runs() -> None:
    """Delete run directories left by clusters whose processes are all gone."""
    root = runs_root()
    if not root.exists():
        return
    for directory in root.glob("run-*"):
        state = directory / "cluster.json"
        try:
            cluster = LocalKafkaCluster.attach(directory)
            owner = json.loads(state.read_text()).get("owner_pid")
        except (OSError, ValueError, KeyError):
            # A run that never wrote its state: stale once it is old enough not to be starting.
            if not state.exists() and time.time() - directory.stat().st_mtime > 600:
                shutil.rmtree(directory, ignore_errors=True)
            continue
        if owner is not None and pid_alive(owner):
            continue
        if not any(node.is_running() for node in cluster.nodes):
            shutil.rmtree(directory, ignore_errors=True)
