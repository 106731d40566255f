import base64
import re

from kafka_kit.local_kafka.acls import service_acls
from kafka_kit.local_kafka.cluster import LocalKafkaCluster, free_ports, new_cluster_id
from kafka_kit.local_kafka.node import KafkaNode
from kafka_kit.local_kafka.properties import node_properties
from kafka_kit.local_kafka.run_state import RunState


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
    cluster = LocalKafkaCluster(3)
    ports = free_ports(6)
    cluster.nodes = [
        KafkaNode(i + 1, ports[2 * i], ports[2 * i + 1], tmp_path / f"n{i + 1}") for i in range(3)
    ]
    extra = {"log.retention.ms": "60000"}
    configs = [_properties(node_properties(n, cluster.nodes, extra=extra)) for n in cluster.nodes]
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
    nodes = [KafkaNode(1, 1111, 1112, tmp_path)]
    config = _properties(node_properties(nodes[0], nodes))
    assert config["offsets.topic.replication.factor"] == "1"
    assert config["transaction.state.log.min.isr"] == "1"
    assert config["group.initial.rebalance.delay.ms"] == "0"


def test_a_run_state_reads_back_as_written(tmp_path) -> None:
    nodes = [KafkaNode(1, 1111, 1112, tmp_path / "n1", pid=42), KafkaNode(2, 2221, 2222, tmp_path)]
    RunState("4.1.1", "abc", nodes, owner_pid=7).write(tmp_path)
    read = RunState.read(tmp_path)
    assert (read.version, read.cluster_id, read.owner_pid, read.security) == (
        "4.1.1",
        "abc",
        7,
        None,
    )
    assert [
        (n.node_id, n.broker_port, n.controller_port, n.directory, n.pid) for n in read.nodes
    ] == [
        (1, 1111, 1112, tmp_path / "n1", 42),
        (2, 2221, 2222, tmp_path, None),
    ]


def test_service_acls_name_only_what_they_are_given() -> None:
    acls = service_acls(topics=["orders"], groups=["billing"], streams_applications=["totals"])
    prefixed = sorted(a.name for a in acls if a.resource_type == "topic" and a.prefixed)
    assert prefixed == ["changelog__totals", "orders", "repartition__totals", "totals"]
    groups = sorted(a.name for a in acls if a.resource_type == "group")
    assert groups == ["*", "billing", "totals"]
    # No service's names by default: the kit knows none.
    bare = service_acls(topics=[], groups=[])
    assert not [a for a in bare if a.resource_type == "topic" and a.prefixed]
    assert [a.name for a in bare if a.resource_type == "group"] == ["*"]
