"""Topic admin and the cluster view against real brokers (three of them where replicas matter)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import NodeNotReadyError

from kafka_kit import kafka_listener
from kafka_kit.admin import KafkaAdmin, NewTopic
from kafka_kit.cluster_view import describe_cluster_view
from kafka_kit.errors import ClusterUnreachableError, TopicDeclarationError
from kafka_kit.local_kafka.cluster import free_ports
from kafka_kit.registry import ListenerRegistry
from kafka_kit.settings import KafkaSettings
from kafka_kit.testing import ProvidedKafka, wait_until
from tests.app_helpers import started
from tests.kafka_helpers import produce


def test_topic_helpers_build_declarations() -> None:
    topic = NewTopic("orders", 6, 3).retention(days=7).compacted().min_insync_replicas(2)
    assert topic.configs == {
        "retention.ms": str(7 * 86_400_000),
        "cleanup.policy": "compact",
        "min.insync.replicas": "2",
    }
    assert NewTopic("x").retention(hours=1, ms=5).configs == {"retention.ms": "3600005"}


async def test_ensure_creates_raises_partitions_and_updates_configs(
    kafka_settings: KafkaSettings, topic_name: str
) -> None:
    admin = KafkaAdmin(kafka_settings)
    declared = NewTopic(topic_name, 2).retention(hours=1)
    first = await admin.reconcile_topics([declared])
    assert first.created == [topic_name]
    assert await admin.topic_layout(topic_name) == (2, 1)

    # Something else set a config on the topic directly; the declaration must not wipe it.
    async with admin.client() as client:
        await client.alter_configs(
            [
                ConfigResource(
                    ConfigResourceType.TOPIC,
                    topic_name,
                    {"retention.ms": "3600000", "max.message.bytes": "500000"},
                )
            ]
        )

    async def configs() -> dict[str, str]:
        async with admin.client() as client:
            values, _ = (await KafkaAdmin.topic_configs(client, [topic_name]))[topic_name]
        return values

    # KRaft brokers apply metadata changes a moment after the controller accepted them.
    async def altered() -> bool:
        return (await configs())["max.message.bytes"] == "500000"

    await wait_until(altered, 30, "the direct change visible")
    grown = NewTopic(topic_name, 5).retention(hours=2).cleanup_policy("compact,delete")
    changes = await admin.reconcile_topics([grown])
    assert changes.created == []
    assert changes.partitions_increased == {topic_name: (2, 5)}
    assert changes.configs_updated[topic_name] == {
        "retention.ms": ("3600000", "7200000"),
        "cleanup.policy": ("delete", "compact,delete"),
    }

    async def reconciled() -> bool:
        layout = await admin.topic_layout(topic_name)
        return layout == (5, 1) and (await configs())["retention.ms"] == "7200000"

    await wait_until(reconciled, 30, "the declaration applied")
    values = await configs()
    assert values["cleanup.policy"] == "compact,delete"
    assert values["max.message.bytes"] == "500000"  # kept

    again = await admin.reconcile_topics([grown])  # idempotent
    assert (again.created, again.partitions_increased, again.configs_updated) == ([], {}, {})


async def test_declaring_fewer_partitions_is_a_clear_error(
    kafka_settings: KafkaSettings, topic_name: str
) -> None:
    admin = KafkaAdmin(kafka_settings)
    await admin.ensure_topics([NewTopic(topic_name, 4)])
    with pytest.raises(TopicDeclarationError, match="has 4 partitions but is declared with 2"):
        await admin.ensure_topics([NewTopic(topic_name, 2)])
    assert await admin.topic_layout(topic_name) == (4, 1)


async def test_unreachable_cluster_fails_clearly_within_a_bounded_wait() -> None:
    (port,) = free_ports(1)
    settings = KafkaSettings(bootstrap_servers=f"127.0.0.1:{port}", request_timeout_ms=2000)
    started_at = time.monotonic()
    with pytest.raises(ClusterUnreachableError, match=f"no Kafka broker at 127.0.0.1:{port}"):
        await KafkaAdmin(settings).ensure_topics([NewTopic("anything")])
    assert time.monotonic() - started_at < 10


@pytest.mark.cluster
async def test_a_topic_declared_without_a_layout_takes_the_brokers_defaults(
    kafka_cluster: ProvidedKafka, topic_name: str
) -> None:
    admin = KafkaAdmin(KafkaSettings(bootstrap_servers=kafka_cluster.bootstrap_servers))
    responses: list[Any] = []

    async def described() -> bool:
        # A fresh cluster: the node bootstrapped from may not list broker 1 yet (NodeNotReady).
        async with admin.client() as client:
            with contextlib.suppress(NodeNotReadyError):
                wanted = {"num.partitions": None, "default.replication.factor": None}
                responses[:] = await client.describe_configs(
                    [ConfigResource(ConfigResourceType.BROKER, "1", wanted)]
                )
        return bool(responses)

    await wait_until(described, 30, "broker 1's configuration described")
    defaults = {entry[0]: int(entry[1]) for entry in responses[0].resources[0][4]}
    assert defaults["default.replication.factor"] == 3  # what the three-node cluster sets
    # As Spring's NewTopic without a replication factor: the broker's default, not 1.
    await admin.ensure_topics([NewTopic(f"{topic_name}-prices", 3), NewTopic(f"{topic_name}-bare")])
    assert await admin.topic_layout(f"{topic_name}-prices") == (3, 3)
    assert await admin.topic_layout(f"{topic_name}-bare") == (defaults["num.partitions"], 3)
    # Declared again without partitions: nothing to reconcile, nothing raised.
    changes = await admin.reconcile_topics([NewTopic(f"{topic_name}-bare")])
    assert changes.partitions_increased == {} and changes.created == []


@pytest.mark.cluster
async def test_cluster_view_shows_brokers_controller_isr_and_groups(
    kafka_cluster: ProvidedKafka, topic_name: str
) -> None:
    settings = KafkaSettings(bootstrap_servers=kafka_cluster.bootstrap_servers)
    await KafkaAdmin(settings).ensure_topics([NewTopic(topic_name, 3, 3).min_insync_replicas(2)])
    await produce(settings.bootstrap_servers, topic_name, [b"x"] * 6)
    registry = ListenerRegistry()

    @kafka_listener(topic_name, group_id=f"g-{topic_name}", concurrency=2, registry=registry)
    async def viewer(value: bytes) -> None:
        pass

    async with started(registry, settings):
        child = registry.container("viewer").children
        await wait_until(lambda: all(c.assignment for c in child), 30, "both assigned")

        async def group_stable() -> bool:
            view = await describe_cluster_view(settings)
            group = next((g for g in view.groups if g.group_id == f"g-{topic_name}"), None)
            return group is not None and group.state == "Stable" and len(group.members) == 2

        await wait_until(group_stable, 30, "a stable group of two")
        view = await describe_cluster_view(settings)
    assert [b.node_id for b in view.brokers] == [1, 2, 3]
    assert all(b.host == "127.0.0.1" and b.port > 0 for b in view.brokers)
    assert view.cluster_id
    # KRaft: one active controller, elected among three voters.
    assert view.controller.leader_id in (1, 2, 3)
    assert sorted(v.node_id for v in view.controller.voters) == [1, 2, 3]
    (topic,) = [t for t in view.topics if t.name == topic_name]
    assert [p.partition for p in topic.partitions] == [0, 1, 2]
    for partition in topic.partitions:
        assert sorted(partition.replicas) == [1, 2, 3]
        assert partition.leader in partition.replicas
        assert sorted(partition.isr) == [1, 2, 3]
    group = next(g for g in view.groups if g.group_id == f"g-{topic_name}")
    owned = sorted(tp for m in group.members for tp in m.assignment)
    assert owned == [(topic_name, 0), (topic_name, 1), (topic_name, 2)]
    assert all("viewer" in m.client_id for m in group.members)
    assert not any(t.name.startswith("__") for t in view.topics)


@pytest.mark.cluster
async def test_isr_shrinks_when_a_broker_stops_and_grows_back(
    kafka_cluster: ProvidedKafka, topic_name: str
) -> None:
    cluster = kafka_cluster.cluster
    if cluster is None:
        pytest.skip("needs a cluster this run started: it stops and restarts a broker")
    settings = KafkaSettings(bootstrap_servers=kafka_cluster.bootstrap_servers)
    admin = KafkaAdmin(settings)
    await admin.ensure_topics([NewTopic(topic_name, 3, 3).min_insync_replicas(2)])

    async def isr() -> dict[int, list[int]]:
        (topic,) = await admin.describe_topics([topic_name])
        return {p["partition"]: sorted(p["isr"]) for p in topic["partitions"]}

    async def leaders() -> set[int]:
        (topic,) = await admin.describe_topics([topic_name])
        return {p["leader"] for p in topic["partitions"]}

    await wait_until(lambda: _all_isr(isr, [1, 2, 3]), 30, "full ISR")
    await asyncio.to_thread(cluster.stop_node, 3)
    try:
        await wait_until(lambda: _all_isr(isr, [1, 2]), 60, "node 3 out of every ISR")
        assert 3 not in await leaders()  # leadership moved to in-sync replicas
        # acks=all still works: two in-sync replicas satisfy min.insync.replicas=2.
        await produce(settings.bootstrap_servers, topic_name, [b"while-down"], partition=0)
    finally:
        await asyncio.to_thread(cluster.start_node, 3)
    await wait_until(lambda: _all_isr(isr, [1, 2, 3]), 90, "node 3 back in every ISR")


async def _all_isr(isr: Callable[[], Awaitable[dict[int, list[int]]]], expected: list[int]) -> bool:
    return all(members == expected for members in (await isr()).values())
