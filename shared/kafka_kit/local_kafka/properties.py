"""A node's ``server.properties``: KRaft roles, listeners, replication sized to the cluster."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from kafka_kit.local_kafka.node import KafkaNode
from kafka_kit.local_kafka.security import ClusterSecurity

__all__ = ["node_properties", "plain_properties"]


def node_properties(
    node: KafkaNode,
    nodes: Sequence[KafkaNode],
    *,
    security: ClusterSecurity | None = None,
    extra: Mapping[str, str] | None = None,
) -> str:
    """The properties file of ``node`` in a cluster of ``nodes``: plain listeners, or secured
    ones with ``security``; ``extra`` (``broker_config=``) goes last and wins.

    Args:
        node: The node.
        nodes: Every node of the cluster (the quorum's voters).
        security: TLS, SASL and ACLs (plain listeners when omitted).
        extra: More properties, last.
    """
    config = plain_properties(node, nodes)
    if security is not None:
        config.update(security.broker_properties(node.broker_port, node.controller_port))
    config.update(extra or {})
    return "".join(f"{k}={v}\n" for k, v in config.items())


def plain_properties(node: KafkaNode, nodes: Sequence[KafkaNode]) -> dict[str, str]:
    """Combined broker+controller on loopback, PLAINTEXT; replication 3 (or the node count),
    ``min.insync.replicas`` 2 (1 on one node).

    Args:
        node: The node.
        nodes: Every node of the cluster.
    """
    count = len(nodes)
    replication = min(3, count)
    min_isr = 1 if count == 1 else 2
    voters = ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in nodes)
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
        # Share groups (KIP-932, on by default since 4.2): their state topic sized like the
        # offsets topic, and a dev cluster's members hear assignments within a second and are
        # dropped 10 s after they die; a group may set its record lock as low as 1 s.
        "share.coordinator.state.topic.num.partitions": str(max(1, count)),
        "group.share.heartbeat.interval.ms": "1000",
        "group.share.min.heartbeat.interval.ms": "1000",
        "group.share.session.timeout.ms": "10000",
        "group.share.min.session.timeout.ms": "6000",
        "group.share.min.record.lock.duration.ms": "1000",
    }
    if count > 1:
        # Notice a dead broker in 4 s rather than 9 s: leaders move sooner (a dev cluster).
        config["broker.heartbeat.interval.ms"] = "1000"
        config["broker.session.timeout.ms"] = "4000"
    return config
