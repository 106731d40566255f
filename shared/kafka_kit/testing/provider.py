"""A real Kafka for tests and the demo: an existing cluster, testcontainers, or the launcher."""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from kafka_kit._extras import requires_extra
from kafka_kit.errors import KafkaLaunchError
from kafka_kit.local_kafka.artifacts import KAFKA_VERSION
from kafka_kit.local_kafka.cluster import LocalKafkaCluster, free_ports
from kafka_kit.local_kafka.readiness import describe_cluster_sync

__all__ = ["KafkaSource", "ProvidedKafka", "docker_available", "provide_kafka"]


log = logging.getLogger(__name__)

KafkaSource = Literal["env", "testcontainers", "launcher"]


@dataclass(frozen=True)
class ProvidedKafka:
    """A reachable Kafka cluster and where it came from."""

    bootstrap_servers: str
    """Where clients connect."""
    source: KafkaSource
    """Where it came from: the environment, testcontainers or the launcher."""
    cluster: LocalKafkaCluster | None = None
    """Set when this process started the cluster itself, so a test may stop and start nodes."""


def docker_available() -> bool:
    """Whether a Docker daemon answers (not merely whether the client is installed)."""
    try:
        import docker  # noqa: PLC0415 - optional: only testcontainers needs it

        client = docker.from_env(timeout=3)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:  # noqa: BLE001 - no client, no socket, no daemon: all mean "no Docker"
        return False


@contextlib.contextmanager
def provide_kafka(
    nodes: int = 1, *, env_var: str = "KAFKA_BOOTSTRAP_SERVERS"
) -> Iterator[ProvidedKafka]:
    """Yield a Kafka: ``env_var`` if set → testcontainers (one node, Docker up) → launcher.

    Args:
        nodes: Brokers wanted (testcontainers gives one node only; three go to the launcher).
        env_var: The variable that names an existing cluster.
    """
    existing = os.environ.get(env_var)
    if existing:
        log.info("using the Kafka cluster at %s (%s)", existing, env_var)
        yield ProvidedKafka(existing, "env")
        return
    if nodes == 1 and docker_available():
        with _apache_kafka_container() as bootstrap:
            yield ProvidedKafka(bootstrap, "testcontainers")
        return
    with LocalKafkaCluster(nodes) as cluster:
        log.info(
            "started a %d-node Kafka %s at %s", nodes, cluster.version, cluster.bootstrap_servers
        )
        yield ProvidedKafka(cluster.bootstrap_servers, "launcher", cluster)


@contextlib.contextmanager
def _apache_kafka_container(timeout_s: float = 120.0) -> Iterator[str]:
    """One KRaft node of the official ``apache/kafka`` image, at the pinned Kafka version."""
    with requires_extra("testing", __name__):
        from testcontainers.core.container import DockerContainer  # noqa: PLC0415

    # The same port inside and outside, so the advertised listener is right without a restart.
    port = free_ports(1)[0]
    container = DockerContainer(f"apache/kafka:{KAFKA_VERSION}").with_bind_ports(port, port)
    host = container.get_container_host_ip()
    environment = {
        "KAFKA_NODE_ID": "1",
        "KAFKA_PROCESS_ROLES": "broker,controller",
        "KAFKA_LISTENERS": f"PLAINTEXT://:{port},CONTROLLER://:9093",
        "KAFKA_ADVERTISED_LISTENERS": f"PLAINTEXT://{host}:{port}",
        "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
        "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "KAFKA_CONTROLLER_QUORUM_VOTERS": "1@localhost:9093",
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
        "KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS": "1",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "1",
        "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR": "1",
        "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR": "1",
        "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS": "0",
    }
    for key, value in environment.items():
        container.with_env(key, value)
    with container:
        bootstrap = f"{host}:{port}"
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                seen = describe_cluster_sync(bootstrap)
                if seen.broker_ids and seen.group_coordinator_ready:
                    break
            except Exception as exc:
                if time.monotonic() > deadline:
                    logs = b"".join(container.get_logs()).decode(errors="replace")[-4000:]
                    raise KafkaLaunchError(
                        f"the Kafka container was not ready: {exc}\n{logs}"
                    ) from exc
            time.sleep(0.5)
        yield bootstrap
