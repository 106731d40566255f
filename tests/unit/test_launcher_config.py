import base64
import re

from kafka_kit.local_kafka.cluster import LocalKafkaCluster, free_ports, new_cluster_id
from kafka_kit.local_kafka.node import KafkaNode


def test_cluster_ids_look_like_kafka_uuids() -> None:
    for _ in range(200):
        cluster_id = new_cluster_id()
        assert re.fullmatch(r"[A-Za-z0-9_-]{22}", cluster_id)
        assert not cluster_id.startswith("-")
        assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16


def test_free_ports_are_distinct() -> None:
    ports = free_ports(6)
    assert len(set(ports)) == 6


def _properties(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line)


def test_three_node_configuration_is_a_kraft_quorum(tmp_path) -> None:
    cluster = LocalKafkaCluster(3, broker_config={"log.retention.ms": "60000"})
    ports = free_ports(6)
    cluster.nodes = [
        KafkaNode(i + 1, ports[2 * i], ports[2 * i + 1], tmp_path / f"n{i + 1}") for i in range(3)
    ]
    configs = [_properties(cluster._server_properties(n)) for n in cluster.nodes]
    voters = ",".join(f"{i + 1}@127.0.0.1:{ports[2 * i + 1]}" for i in range(3))
    for node, config in zip(cluster.nodes, configs, strict=True):
        assert config["process.roles"] == "broker,controller"
        assert config["node.id"] == str(node.node_id)
        assert config["controller.quorum.voters"] == voters
        assert config["advertised.listeners"] == f"PLAINTEXT://127.0.0.1:{node.broker_port}"
        assert config["offsets.topic.replication.factor"] == "3"
        assert config["min.insync.replicas"] == "2"
        assert config["log.dirs"] == str(node.data_dir)
        assert config["log.retention.ms"] == "60000"
        assert not any(key.startswith("zookeeper") for key in config)
    assert cluster.bootstrap_servers == ",".join(f"127.0.0.1:{ports[2 * i]}" for i in range(3))


def test_single_node_replicates_internal_topics_once(tmp_path) -> None:
    cluster = LocalKafkaCluster(1)
    cluster.nodes = [KafkaNode(1, 1111, 1112, tmp_path)]
    config = _properties(cluster._server_properties(cluster.nodes[0]))
    assert config["offsets.topic.replication.factor"] == "1"
    assert config["transaction.state.log.min.isr"] == "1"
    assert config["group.initial.rebalance.delay.ms"] == "0"
