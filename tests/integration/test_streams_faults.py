"""The example stream topology while brokers of the three-node cluster are killed or frozen: it
restarts by itself when it must, and each key's count ends equal to the events sent for it."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from consumer_service.event_stats import EventStats, EventStatsSettings, build_event_stats
from event_contract.events import EventsTopicSettings
from kafka_kit.local_kafka import LocalKafkaCluster
from kafka_kit.partitioners import key_partition
from kafka_kit.settings import ConsumerSettings, KafkaSettings
from kafka_kit.streams import StreamsApplication, StreamsSettings, StreamsState
from kafka_kit.testing import ProvidedKafka, wait_until
from tests.integration.test_faults import _leader_of
from tests.kafka_helpers import create_topic
from tests.streams_helpers import event, produce_events

pytestmark = [pytest.mark.fault, pytest.mark.cluster]

Report = Callable[[dict[str, object]], None]
PARTITIONS = 3
KEYS = 30


@pytest.fixture
def cluster(kafka_cluster: ProvidedKafka) -> Iterator[LocalKafkaCluster]:
    """The session's three nodes, made whole again after each test."""
    if kafka_cluster.cluster is None:
        pytest.skip("needs a cluster this run started: it kills and restarts brokers")
    yield kafka_cluster.cluster
    for node in kafka_cluster.cluster.nodes:
        node.send_signal(18)  # SIGCONT: a frozen node first
        if not node.is_running():
            kafka_cluster.cluster.start_node(node.node_id, wait=False)
    kafka_cluster.cluster.wait_until_ready(120)


@contextlib.asynccontextmanager
async def _counting(
    cluster: LocalKafkaCluster, topic: str, tmp_path: Path
) -> AsyncIterator[EventStats]:
    bootstrap = cluster.bootstrap_servers
    await create_topic(bootstrap, topic, partitions=PARTITIONS, replication=3,
                       **{"min.insync.replicas": "2"})  # fmt: skip
    kafka = KafkaSettings(
        bootstrap_servers=bootstrap,
        request_timeout_ms=5000,
        consumer=ConsumerSettings(session_timeout_ms=6000, heartbeat_interval_ms=500),
    )
    streams = StreamsApplication(
        StreamsSettings(
            application_id=f"stats-{topic}",
            commit_interval_s=0.5,
            session_timeout_s=6,
            state_dir=str(tmp_path / "state"),
            broker_timeout_s=5,
            restart_backoff_s=1,
            restart_backoff_max_s=4,
        ),
        kafka,
    )
    events = EventsTopicSettings(topic=topic, partitions=PARTITIONS, replication_factor=3)
    stats = build_event_stats(streams, events, EventStatsSettings())
    async with streams:
        await streams.wait_until(StreamsState.RUNNING, timeout_s=120)
        yield stats


class Sender:
    """Sends events in rounds over ``KEYS`` keys, counting what was sent per key."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.bootstrap, self.topic = bootstrap, topic
        self.sent: Counter[str] = Counter()

    async def send(self, count: int) -> None:
        batch = [event(f"c{n % KEYS}", f"t{n % 3}", time.time()) for n in range(count)]
        await produce_events(self.bootstrap, self.topic, batch)
        self.sent.update(e.key for e in batch if e.key)


async def _counted(stats: EventStats, sent: Counter[str]) -> bool:
    if stats.streams.state is not StreamsState.RUNNING:
        return False
    for key, count in sent.items():
        found = stats.key_stats(key, key_partition(key.encode(), range(PARTITIONS)))
        if found is None or found["count"] != count:
            return False
    return True


async def _until_counted(stats: EventStats, sent: Counter[str], timeout_s: float) -> None:
    """Until every key's count equals what was sent; the failure says how far from it."""
    try:
        await wait_until(lambda: _counted(stats, sent), timeout_s, "every event counted")
    except AssertionError as exc:
        partitions = range(PARTITIONS)
        wrong = {
            key: ((stats.key_stats(key, key_partition(key.encode(), partitions)) or {}).get(
                "count"), count)
            for key, count in sent.items()
        }  # fmt: skip
        wrong = {key: seen for key, seen in wrong.items() if seen[0] != seen[1]}
        raise AssertionError(f"{exc}: {stats.streams.health()}; (counted, sent): {wrong}") from None


async def test_a_killed_leader_and_a_frozen_broker_lose_no_count(
    cluster: LocalKafkaCluster, topic_name: str, tmp_path: Path, report: Report
) -> None:
    sender = Sender(cluster.bootstrap_servers, topic_name)
    states: set[str] = set()
    async with _counting(cluster, topic_name, tmp_path) as stats:
        watching = asyncio.create_task(_watch_states(stats, states))
        await sender.send(300)
        await _until_counted(stats, sender.sent, 120)
        leader = await _leader_of(cluster.bootstrap_servers, topic_name, 0)
        await asyncio.to_thread(cluster.kill_node, leader)  # kill -9, mid-stream
        await sender.send(300)
        await asyncio.to_thread(cluster.start_node, leader)
        frozen = await _leader_of(cluster.bootstrap_servers, topic_name, 1)
        cluster.pause_node(frozen)  # SIGSTOP: a GC pause, a hung host
        await sender.send(300)
        await asyncio.sleep(12)
        cluster.resume_node(frozen)
        await _until_counted(stats, sender.sent, 180)
        watching.cancel()
        health = stats.streams.health()
    report({"killed": leader, "frozen": frozen, "events": sum(sender.sent.values()),
            "restarts": health["restarts"], "states_seen": sorted(states),
            "last_error": health["last_error"]})  # fmt: skip
    assert health["state"] == "RUNNING" and health["dead_lettered"] == {}


async def test_with_every_broker_gone_it_restarts_by_itself_with_its_counts_intact(
    cluster: LocalKafkaCluster, topic_name: str, tmp_path: Path, report: Report
) -> None:
    sender = Sender(cluster.bootstrap_servers, topic_name)
    async with _counting(cluster, topic_name, tmp_path) as stats:
        streams = stats.streams
        await sender.send(300)
        await _until_counted(stats, sender.sent, 120)
        gone_at = time.monotonic()
        for node in cluster.nodes:  # kill -9 every node: the leaders and the coordinator
            await asyncio.to_thread(cluster.kill_node, node.node_id)
        await wait_until(lambda: streams.state is StreamsState.RESTARTING, 60, "RESTARTING")
        restarting = streams.health()
        down_s = time.monotonic() - gone_at
        for node in cluster.nodes:
            await asyncio.to_thread(cluster.start_node, node.node_id, wait=False)
        await asyncio.to_thread(cluster.wait_until_ready, 120)
        await wait_until(lambda: streams.state is StreamsState.RUNNING, 180, "RUNNING again")
        await sender.send(300)
        await _until_counted(stats, sender.sent, 180)
        health = streams.health()
    report({"restarting_after_s": round(down_s, 1), "restarts": health["restarts"],
            "last_error": restarting["last_error"],
            "events": sum(sender.sent.values())})  # fmt: skip
    assert restarting["state"] == "RESTARTING" and restarting["restart_in_s"] is not None
    assert health["restarts"] >= 1 and health["state"] == "RUNNING"
    assert health["dead_lettered"] == {}


async def _watch_states(stats: EventStats, seen: set[str]) -> None:
    while True:
        seen.add(stats.streams.state.value)
        await asyncio.sleep(0.1)
