"""Burrow-style lag monitoring against real brokers: every status made to happen for real.

Each case is made live, with real commits, and judged by the monitor as Burrow 1.9.5 would.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import TopicPartition

from consumer_service.app import create_app
from consumer_service.settings import EventStoreSettings
from event_contract.events import EventsTopicSettings
from kafka_kit import kafka_listener
from kafka_kit.lag.monitor import ClusterLagMonitor
from kafka_kit.listener import Inject
from kafka_kit.local_kafka.cluster import free_ports
from kafka_kit.local_kafka.tools import CONSUMER_GROUPS, run_kafka_tool
from kafka_kit.registry import ListenerRegistry
from kafka_kit.settings import KafkaSettings, LagSettings
from kafka_kit.testing import ProvidedKafka, wait_until
from tests.app_helpers import running, service_process
from tests.kafka_helpers import create_topic, produce

FAST = {"window": 4, "offset_refresh_s": 0.3}  # Burrow's defaults otherwise


@contextlib.asynccontextmanager
async def _consumer_app(
    settings: KafkaSettings, topic_name: str, **lag: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """The consumer service watching lag, with a listener ``live`` on ``<topic>-live``."""
    registry = ListenerRegistry()

    @kafka_listener(f"{topic_name}-live", group_id=f"live-{topic_name}", registry=registry)
    async def live(offset: int) -> None:
        pass

    await create_topic(settings.bootstrap_servers, f"{topic_name}-live")
    app = create_app(
        settings,
        EventsTopicSettings(topic=topic_name, partitions=1),
        registry,
        lag=LagSettings(**{**FAST, **lag}),
    )
    async with running(app, "consumer") as client:

        async def watching() -> bool:
            module = (await client.get("/v3/kafka/local")).json()["module"]
            return bool(module["state"] == "running")

        # The monitor starts in the background: the commits made so far are read first.
        await wait_until(watching, 60, "the local cluster watched")
        yield client


@pytest.fixture
async def burrow(
    listener_settings: KafkaSettings, topic_name: str
) -> AsyncIterator[httpx.AsyncClient]:
    async with _consumer_app(listener_settings, topic_name) as client:
        yield client


@dataclass
class LagCase:
    """One test's Burrow API client, broker and names: what every lag test starts from."""

    client: httpx.AsyncClient
    bootstrap: str
    name: str

    async def topic_with(self, suffix: str, count: int, partitions: int = 1) -> str:
        """This test's topic ``<name><suffix>`` with ``count`` records per partition, sampled."""
        topic = self.name + suffix
        await _topic_with(self.client, self.bootstrap, topic, count, partitions)
        return topic

    def group(self, prefix: str) -> str:
        """This test's group ``<prefix>-<name>``."""
        return f"{prefix}-{self.name}"


@pytest.fixture
def lag(burrow: httpx.AsyncClient, listener_settings: KafkaSettings, topic_name: str) -> LagCase:
    return LagCase(burrow, listener_settings.bootstrap_servers, topic_name)


class Committer:
    """A group that commits exactly the offsets a test wants, when it wants (real commits)."""

    def __init__(self, bootstrap: str, group: str, topic: str, partitions: int = 1) -> None:
        self.topic = topic
        self.tps = [TopicPartition(topic, p) for p in range(partitions)]
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
        )

    async def __aenter__(self) -> Committer:
        self.consumer.assign(self.tps)
        await self.consumer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.consumer.stop()

    async def commit(self, *offsets: int, every_s: float = 0.4, partition: int = 0) -> None:
        for offset in offsets:
            await self.consumer.commit({TopicPartition(self.topic, partition): offset})
            await asyncio.sleep(every_s)


async def _wait_sampled(client: httpx.AsyncClient, topic: str, ends: list[int]) -> None:
    """Until the monitor has sampled these log-end offsets (commits before that are dropped)."""

    async def sampled() -> bool:
        answer = await client.get(f"/v3/kafka/local/topic/{topic}")
        return answer.status_code == 200 and answer.json()["offsets"] == ends

    await wait_until(sampled, 30, f"log-end offsets {ends} of {topic}")


async def _topic_with(
    client: httpx.AsyncClient, bootstrap: str, topic: str, count: int, partitions: int = 1
) -> None:
    """A topic with ``count`` records in each partition, sampled by the monitor."""
    await create_topic(bootstrap, topic, partitions=partitions)
    for partition in range(partitions):
        await produce(bootstrap, topic, [b"x"] * count, partition=partition)
    await _wait_sampled(client, topic, [count] * partitions)


async def _status(client: httpx.AsyncClient, group: str) -> dict[str, Any]:
    response = await client.get(f"/v3/kafka/local/consumer/{group}/lag")
    return response.json()["status"] if response.status_code == 200 else {}


async def _wait_status(client: httpx.AsyncClient, group: str, expected: str) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    async def reached() -> bool:
        nonlocal seen
        seen = await _status(client, group)
        partitions = seen.get("partitions") or [{}]
        return partitions[0].get("status") == expected

    try:
        await wait_until(reached, 30, f"partition status {expected}")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; last status: {seen}") from None
    return seen


async def _status_while_committing(
    client: httpx.AsyncClient,
    bootstrap: str,
    group: str,
    topic: str,
    offsets: list[int],
    every_s: float,
    expected: str,
) -> dict[str, Any]:
    """Commit ``offsets`` one by one (in the background) until the partition is ``expected``."""
    async with Committer(bootstrap, group, topic) as committer:
        committing = asyncio.create_task(committer.commit(*offsets, every_s=every_s))
        try:
            return await _wait_status(client, group, expected)
        finally:
            committing.cancel()


async def test_caught_up_group_is_ok(
    burrow: httpx.AsyncClient,
    listener_settings: KafkaSettings,
    topic_name: str,
) -> None:
    client = burrow
    await produce(listener_settings.bootstrap_servers, f"{topic_name}-live", [b"x"] * 5)
    status = await _wait_status(client, f"live-{topic_name}", "OK")

    async def committed_all_and_owned() -> bool:
        lag = (await client.get(f"/v3/kafka/local/consumer/live-{topic_name}/lag")).json()
        partition = lag["status"]["partitions"][0]
        # Owners are sampled every offset_refresh_s, like log-end offsets.
        return partition["end"]["offset"] == 5 and partition["owner"] != ""

    await wait_until(committed_all_and_owned, 30, "the commit of offset 5 and the owner")
    status = await _status(client, f"live-{topic_name}")
    assert status["status"] == "OK"
    assert status["totallag"] == 0
    assert status["partitions"][0]["current_lag"] == 0
    assert status["partitions"][0]["owner"] == "/127.0.0.1"  # as Kafka reports it, like Burrow
    assert "live" in status["partitions"][0]["client_id"]


async def test_a_group_committing_several_times_a_second_with_small_lag_is_ok(
    listener_settings: KafkaSettings, topic_name: str
) -> None:
    # Burrow's default minimum distance (0): every commit is a sample, so the window keeps
    # moving. (Merging close commits under the newest timestamp left one sample: STOP.)
    async with _consumer_app(listener_settings, topic_name, window=10) as client:
        bootstrap = listener_settings.bootstrap_servers
        topic = topic_name + "-f"
        await _topic_with(client, bootstrap, topic, 3)
        group = f"frequent-{topic_name}"
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0)
        await producer.start()
        try:
            async with Committer(bootstrap, group, topic) as committer:

                async def consume_steadily() -> None:
                    end = 3
                    while True:
                        for _ in range(3):
                            await producer.send_and_wait(topic, b"x")
                        end += 3
                        await committer.commit(end - 1 - end % 2, every_s=0.1)  # 1-2 behind

                task = asyncio.create_task(consume_steadily())
                try:
                    statuses = await _statuses_of_next_commits(client, group, topic, 10)
                finally:
                    task.cancel()
        finally:
            await producer.stop()
    assert statuses == ["OK"] * 10


async def _statuses_of_next_commits(
    client: httpx.AsyncClient, group: str, topic: str, count: int
) -> list[str]:
    """Once the window is full of distinct commits: the status after each of the next ones."""
    last: list[int] = []

    async def window() -> list[int]:
        answer = await client.get(f"/v3/kafka/local/consumer/{group}")
        if answer.status_code != 200:
            return []
        return [o["timestamp"] for o in answer.json()["topics"][topic][0]["offsets"] if o]

    async def full() -> bool:
        stamps = await window()
        return len(stamps) == 10 and len(set(stamps)) == 10

    await wait_until(full, 60, "a full window of distinct commits")
    statuses = []
    for _ in range(count):
        last = await window()

        async def moved(before: list[int] = last) -> bool:
            return await window() != before

        await wait_until(moved, 30, "the next commit")
        statuses.append((await _status(client, group))["partitions"][0]["status"])
    return statuses


async def test_stopped_consumer_is_stop(
    lag: LagCase,
) -> None:
    client, bootstrap = lag.client, lag.bootstrap
    topic = await lag.topic_with("-s", 100)
    group = lag.group("stop")
    async with Committer(bootstrap, group, topic) as committer:
        await committer.commit(10, 20, 30, every_s=0.3)
    # No more commits: once the silence outlasts the window's span (0.6 s), it is STOP.
    status = await _wait_status(client, group, "STOP")
    assert status["status"] == "ERR"
    assert status["partitions"][0]["current_lag"] == 70


async def test_caught_up_consumer_that_stops_while_production_goes_on_is_stop(
    lag: LagCase,
) -> None:
    client, bootstrap = lag.client, lag.bootstrap
    topic = await lag.topic_with("-d", 10)
    group = lag.group("died")
    async with Committer(bootstrap, group, topic) as committer:
        await committer.commit(10, 10, 10, every_s=0.3)  # caught up: lag 0 at every commit
    assert (await _wait_status(client, group, "OK"))["totallag"] == 0

    async def keep_producing() -> None:
        while True:
            await produce(bootstrap, topic, [b"x"])

    # It died caught up; records keep coming. Its window (all lag 0) never changes again, but
    # once the log-end samples are all past its last commit and the silence outlasts the
    # window's span, Burrow calls it STOP — and so do we.
    task = asyncio.create_task(keep_producing())
    try:
        status = await _wait_status(client, group, "STOP")
    finally:
        task.cancel()
    assert status["status"] == "ERR" and status["partitions"][0]["current_lag"] > 0


async def test_committing_the_same_offset_is_stall(
    lag: LagCase,
) -> None:
    client, bootstrap = lag.client, lag.bootstrap
    topic = await lag.topic_with("-st", 50)
    group = lag.group("stall")
    status = await _status_while_committing(
        client, bootstrap, group, topic, [7] * 40, 0.25, "STALL"
    )
    assert status["status"] == "ERR"
    partition = status["partitions"][0]
    assert partition["start"]["offset"] == partition["end"]["offset"] == 7
    assert partition["current_lag"] == 43


async def test_slow_consumer_with_growing_lag_is_warn(
    lag: LagCase,
) -> None:
    client, bootstrap = lag.client, lag.bootstrap
    topic = await lag.topic_with("-w", 20)
    group = lag.group("warn")

    async def slow() -> None:
        offset = 0
        async with Committer(bootstrap, group, topic) as committer:
            while True:
                await produce(bootstrap, topic, [b"x"] * 30)  # 30 more arrive…
                offset += 10  # …while 10 are handled
                await committer.commit(offset, every_s=0.4)

    task = asyncio.create_task(slow())
    try:
        status = await _wait_status(client, group, "WARN")
    finally:
        task.cancel()
    assert status["status"] == "WARN"
    start, end = status["partitions"][0]["start"], status["partitions"][0]["end"]
    assert end["offset"] > start["offset"] and end["lag"] >= start["lag"]


async def test_seek_backwards_is_rewind(
    lag: LagCase,
) -> None:
    client, bootstrap = lag.client, lag.bootstrap
    topic = await lag.topic_with("-r", 100)
    group = lag.group("rewind")
    offsets = [60, 70, 20, 25, 30, 35, 40]
    status = await _status_while_committing(client, bootstrap, group, topic, offsets, 0.2, "REWIND")
    assert status["status"] == "ERR"


async def test_a_rewind_after_being_caught_up_is_still_rewind(
    lag: LagCase,
) -> None:
    client, bootstrap = lag.client, lag.bootstrap
    topic = await lag.topic_with("-rz", 100)
    group = lag.group("reset")
    # Caught up (lag 0), then reset to an early offset: the lag 0 must not hide the rewind.
    offsets = [100, 100, *[10] * 20]
    status = await _status_while_committing(client, bootstrap, group, topic, offsets, 0.3, "REWIND")
    assert status["status"] == "ERR"
    assert status["partitions"][0]["start"]["lag"] == 0


async def test_partitions_without_commits_are_part_of_the_group(
    lag: LagCase,
) -> None:
    client, bootstrap = lag.client, lag.bootstrap
    topic = await lag.topic_with("-p3", 10, partitions=3)
    group = lag.group("one-of-three")
    async with Committer(bootstrap, group, topic, partitions=3) as committer:
        await committer.commit(10, every_s=0, partition=1)
    await wait_until(lambda: _has_group(client, group), 30, "the group")
    status = await _status(client, group)
    assert status["partition_count"] == 3
    assert [(p["partition"], p["complete"]) for p in status["partitions"]] == [
        (0, 0.0), (1, 0.25), (2, 0.0),
    ]  # fmt: skip
    assert status["complete"] == 0.0
    detail = (await client.get(f"/v3/kafka/local/consumer/{group}")).json()["topics"][topic]
    assert [p["offsets"] for p in detail[::2]] == [[], []]  # never committed, never owned
    assert detail[1]["offsets"][:3] == [None, None, None]  # a window: empty slots first
    assert detail[1]["offsets"][3]["offset"] == 10


async def test_a_group_with_members_but_no_commits_is_listed_not_judged(
    lag: LagCase,
) -> None:
    client, bootstrap = lag.client, lag.bootstrap
    topic = await lag.topic_with("-m0", 3)
    group = lag.group("members-only")
    member = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await member.start()
    try:
        await wait_until(lambda: bool(member.assignment()), 30, "the member's assignment")
        await wait_until(lambda: _has_group(client, group), 30, "the group in the list")
        status = await client.get(f"/v3/kafka/local/consumer/{group}/status")
        assert status.status_code == 404
        assert status.json()["status"]["status"] == "NOTFOUND"
    finally:
        await member.stop()


async def test_a_group_whose_member_is_assigned_nothing_is_listed_until_it_leaves(
    burrow: httpx.AsyncClient, listener_settings: KafkaSettings, topic_name: str
) -> None:
    client = burrow
    group = f"idle-{topic_name}"
    member = AIOKafkaConsumer(
        bootstrap_servers=listener_settings.bootstrap_servers,
        group_id=group,
        enable_auto_commit=False,
    )
    member.subscribe(pattern=f"^nothing-matches-{topic_name}$")  # a member with no partitions
    await member.start()
    try:
        await wait_until(lambda: _has_group(client, group), 30, "the idle group in the list")
    finally:
        await member.stop()

    async def gone() -> bool:
        return not await _has_group(client, group)

    await wait_until(gone, 30, "the group gone from the list once its member left")


async def test_deleted_offsets_keep_the_partition_a_deleted_group_goes(
    lag: LagCase,
) -> None:
    client, bootstrap = lag.client, lag.bootstrap
    topic = await lag.topic_with("-del", 5, partitions=2)
    group = lag.group("deleted")
    async with Committer(bootstrap, group, topic, partitions=2) as committer:
        await committer.commit(3, every_s=0, partition=0)
        await committer.commit(4, every_s=0, partition=1)
    await asyncio.to_thread(
        run_kafka_tool, CONSUMER_GROUPS, "--bootstrap-server", bootstrap, "--delete-offsets",
        "--group", group, "--topic", f"{topic}:0",
    )  # fmt: skip
    async with Committer(bootstrap, group, topic, partitions=2) as committer:
        await committer.commit(5, every_s=0, partition=1)  # read after the tombstone

    async def second_commit_seen() -> bool:
        answer = (await client.get(f"/v3/kafka/local/consumer/{group}/lag")).json()["status"]
        return answer["partitions"][1]["end"]["offset"] == 5

    await wait_until(second_commit_seen, 30, "the commit after the deletion")
    status = await _status(client, group)
    # Burrow ignores offset tombstones: the partition keeps its window.
    assert status["partitions"][0]["end"]["offset"] == 3
    await asyncio.to_thread(
        run_kafka_tool, CONSUMER_GROUPS, "--bootstrap-server", bootstrap, "--delete",
        "--group", group,
    )  # fmt: skip

    async def gone() -> bool:
        return not await _has_group(client, group)

    await wait_until(gone, 30, "the deleted group to go")
    assert (await client.get(f"/v3/kafka/local/consumer/{group}/lag")).status_code == 404


async def test_burrow_endpoints_and_404s(
    lag: LagCase,
) -> None:
    client, bootstrap = lag.client, lag.bootstrap
    await produce(bootstrap, f"{lag.name}-live", [b"x"] * 3)
    group = lag.group("live")
    await wait_until(lambda: _has_group(client, group), 30, "the live group")

    clusters = (await client.get("/v3/kafka")).json()
    assert clusters["error"] is False and clusters["clusters"] == ["local"]
    assert clusters["request"]["url"] == "/v3/kafka"
    detail = (await client.get("/v3/kafka/local")).json()
    assert detail["module"]["servers"] == bootstrap.split(",")
    assert detail["module"]["state"] == "running" and detail["module"]["last-error"] is None
    topics = (await client.get("/v3/kafka/local/topic")).json()["topics"]
    assert f"{lag.name}-live" in topics and "__consumer_offsets" in topics  # as Burrow lists

    async def three_sampled() -> bool:
        answer = await client.get(f"/v3/kafka/local/topic/{lag.name}-live")
        return answer.json()["offsets"] == [3]

    await wait_until(three_sampled, 30, "the log-end offset 3")
    consumers = (await client.get(f"/v3/kafka/local/topic/{lag.name}-live/consumers")).json()
    assert consumers["message"] == "consumers of topic returned"
    assert consumers["consumers"] == [group]
    consumer = (await client.get(f"/v3/kafka/local/consumer/{group}")).json()
    (partition,) = consumer["topics"][f"{lag.name}-live"]
    assert set(partition) == {"offsets", "owner", "client_id", "current-lag"}
    assert len(partition["offsets"]) == 4  # always the window's length, empty slots null
    assert set(partition["offsets"][-1]) == {"offset", "timestamp", "observedAt", "lag"}
    answer = (await client.get(f"/v3/kafka/local/consumer/{group}/status")).json()
    assert answer["message"] == "consumer status returned"
    status = answer["status"]
    assert set(status) == {
        "cluster",
        "group",
        "status",
        "complete",
        "partitions",
        "partition_count",
        "maxlag",
        "totallag",
    }
    assert status["cluster"] == "local" and status["partition_count"] == 1
    assert status["partitions"] == []  # /status lists only partitions that are not OK
    assert set(status["maxlag"]) == {
        "topic",
        "partition",
        "owner",
        "client_id",
        "status",
        "start",
        "end",
        "current_lag",
        "complete",
    }
    answer = (await client.get(f"/v3/kafka/local/consumer/{group}/lag")).json()
    assert answer["message"] == "consumer status returned"  # Burrow's words on /lag too
    for path, message in (
        ("/v3/kafka/nowhere", "cluster module not found"),
        ("/v3/kafka/nowhere/consumer", "cluster not found"),
        ("/v3/kafka/nowhere/topic", "cluster not found"),
        ("/v3/kafka/local/topic/no-such-topic", "cluster or topic not found"),
        ("/v3/kafka/local/consumer/no-such-group", "cluster or consumer not found"),
    ):
        response = await client.get(path)
        assert response.status_code == 404
        assert response.json() == {
            "error": True,
            "message": message,
            "request": {"url": path, "host": response.json()["request"]["host"]},
        }
    for path in (
        "/v3/kafka/local/consumer/no-such-group/status",
        "/v3/kafka/local/consumer/no-such-group/lag",
    ):
        response = await client.get(path)
        assert response.status_code == 404
        # Burrow: not an error body but a status, NOTFOUND, with the rest of the object.
        assert response.json() == {
            "error": False,
            "message": "consumer status returned",
            "status": {
                "cluster": "local",
                "group": "no-such-group",
                "status": "NOTFOUND",
                "complete": 1.0,
                "partitions": [],
                "partition_count": 0,
                "maxlag": None,
                "totallag": 0,
            },
            "request": {"url": path, "host": response.json()["request"]["host"]},
        }


async def _has_group(client: httpx.AsyncClient, group: str) -> bool:
    consumers = (await client.get("/v3/kafka/local/consumer")).json()["consumers"]
    return group in consumers


async def test_lag_report_and_prometheus_metrics(
    lag: LagCase,
) -> None:
    client, bootstrap = lag.client, lag.bootstrap
    topic = await lag.topic_with("-m", 40)
    group = lag.group("metrics")
    async with Committer(bootstrap, group, topic) as committer:
        await committer.commit(15, every_s=0)

    async def reported() -> bool:
        response = await client.get(f"/lag/{group}")
        return response.status_code == 200 and response.json()["total_lag"] == 25

    await wait_until(reported, 30, "the lag report")
    report = (await client.get(f"/lag/{group}")).json()
    assert report["partitions"] == [
        {"topic": topic, "partition": 0, "log_end_offset": 40, "committed_offset": 15, "lag": 25}
    ]
    assert report["lag_by_topic"] == {topic: 25}
    assert (await client.get("/lag/unknown-group")).status_code == 404

    await produce(bootstrap, f"{lag.name}-live", [b"x"])
    await wait_until(lambda: _has_group(client, f"live-{lag.name}"), 30, "the live group")
    text = (await client.get("/metrics")).text
    labels = f'cluster="local",group="{group}",partition="0",topic="{topic}"'
    lag_line = f"kafka_consumergroup_lag{{{labels}}} 25.0"
    assert lag_line in text
    assert f'kafka_consumergroup_status{{cluster="local",group="{group}"}}' in text
    assert 'kafka_listener_records_total{listener="live",outcome="handled"}' in text
    assert "kafka_listener_handler_seconds_bucket" in text
    assert 'kafka_lag_cluster_up{cluster="local"} 1.0' in text


@pytest.mark.cluster
async def test_one_process_watches_several_clusters(
    kafka_bootstrap_servers: str, kafka_cluster: ProvidedKafka, topic_name: str
) -> None:
    settings = KafkaSettings(bootstrap_servers=kafka_bootstrap_servers)
    lag = LagSettings(
        clusters={"local": kafka_bootstrap_servers, "replicated": kafka_cluster.bootstrap_servers},
        **FAST,
    )
    for bootstrap, group in (
        (kafka_bootstrap_servers, "a"),
        (kafka_cluster.bootstrap_servers, "b"),
    ):
        await create_topic(bootstrap, f"{topic_name}-{group}")
        await produce(bootstrap, f"{topic_name}-{group}", [b"x"] * 4)
        async with Committer(bootstrap, f"{group}-{topic_name}", f"{topic_name}-{group}") as c:
            await c.commit(1, every_s=0)
    app = create_app(
        settings, EventsTopicSettings(topic=topic_name, partitions=1), ListenerRegistry(), lag=lag
    )
    async with running(app) as client:
        clusters = (await client.get("/v3/kafka")).json()["clusters"]
        assert clusters == ["local", "replicated"]

        async def each_sees_its_own() -> bool:
            local = (await client.get("/v3/kafka/local/consumer")).json()["consumers"]
            other = (await client.get("/v3/kafka/replicated/consumer")).json()["consumers"]
            return (
                f"a-{topic_name}" in local
                and f"b-{topic_name}" in other
                and f"b-{topic_name}" not in local
                and f"a-{topic_name}" not in other
            )

        await wait_until(each_sees_its_own, 30, "each cluster's own groups")
        lag_b = (await client.get(f"/v3/kafka/replicated/consumer/b-{topic_name}/lag")).json()
        assert lag_b["status"]["cluster"] == "replicated"
        assert lag_b["status"]["totallag"] == 3


async def test_an_unreachable_cluster_is_reported_and_holds_up_nothing(
    listener_settings: KafkaSettings, topic_name: str
) -> None:
    (closed_port,) = free_ports(1)  # nothing listens there
    down = f"127.0.0.1:{closed_port}"
    clusters = {"local": listener_settings.bootstrap_servers, "down": down}
    async with _consumer_app(listener_settings, topic_name, clusters=clusters) as client:
        health = await client.get("/health")
        assert health.status_code == 200 and health.json()["status"] == "UP"

        async def reported() -> bool:
            down = (await client.get("/v3/kafka/down")).json()["module"]
            local = (await client.get("/v3/kafka/local")).json()["module"]
            unreachable = down["state"] == "unreachable" and bool(down["last-error"])
            return unreachable and local["state"] == "running"

        await wait_until(reported, 60, "the unreachable cluster reported, the other watched")
        assert down in (await client.get("/v3/kafka/down")).json()["module"]["last-error"]
        health = (await client.get("/health")).json()
        assert health["lag_clusters"]["local"] == "running"
        assert health["lag_clusters"]["down"].startswith("unreachable: ")
        # The other cluster is watched as usual.
        await produce(listener_settings.bootstrap_servers, f"{topic_name}-live", [b"x"])
        await wait_until(lambda: _has_group(client, f"live-{topic_name}"), 30, "the live group")
        text = (await client.get("/metrics")).text
        assert 'kafka_lag_cluster_up{cluster="down"} 0.0' in text
        assert 'kafka_lag_cluster_up{cluster="local"} 1.0' in text
        assert (await client.get("/v3/kafka/down/consumer")).json()["consumers"] == []


async def test_the_service_starts_and_stops_on_ctrl_c_with_a_cluster_down(
    listener_settings: KafkaSettings, topic_name: str, tmp_path: Path
) -> None:
    port, closed_port = free_ports(2)
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": listener_settings.bootstrap_servers,
        "EVENTS_TOPIC": topic_name,
        "EVENT_STORE_URL": f"sqlite:///{tmp_path}/events.db",
        "LAG_CLUSTERS": json.dumps(
            {"local": listener_settings.bootstrap_servers, "down": f"127.0.0.1:{closed_port}"}
        ),
    }
    server = service_process("consumer_service.main", port, env, output=True)
    try:

        async def up() -> bool:
            assert server.poll() is None, "the service exited"
            try:
                async with httpx.AsyncClient() as http:
                    answer = await http.get(f"http://127.0.0.1:{port}/health", timeout=2)
            except httpx.HTTPError:
                return False
            return (
                answer.status_code == 200 and "unreachable" in answer.json()["lag_clusters"]["down"]
            )

        await wait_until(up, 90, "the service UP, the down cluster reported", interval_s=0.3)
    finally:
        server.send_signal(signal.SIGINT)  # Ctrl-C
        # Bounded like every client wait in the kit: far below the 30 s request timeout.
        output, _ = await asyncio.to_thread(server.communicate, timeout=25)
    assert server.returncode == 0, output[-4000:]
    assert "Application startup failed" not in output
    assert output.count("lag monitor down: cluster unreachable") == 1, output[-4000:]


class Clock:
    """A dependency nobody provides."""


async def test_a_failed_start_up_closes_everything_it_opened(
    listener_settings: KafkaSettings, topic_name: str, tmp_path: Path
) -> None:
    registry = ListenerRegistry()

    @kafka_listener(topic_name, group_id=f"g-{topic_name}", registry=registry)
    async def needs_a_clock(event: bytes, clock: Annotated[Clock, Inject]) -> None:
        pass

    app = create_app(
        listener_settings,
        EventsTopicSettings(topic=topic_name, partitions=1),
        registry,
        lag=LagSettings(**FAST),
        store_settings=EventStoreSettings(url=f"sqlite:///{tmp_path}/events.db"),
    )
    with pytest.raises(ValueError, match="Clock"):
        async with running(app):
            pass
    # The lag monitor, the store and the template it opened before the failure are closed.
    assert app.state.service_state.lag_monitors.states() == {"local": "stopped"}
    with pytest.raises(RuntimeError):
        await app.state.service_state.event_store.get(uuid.uuid4())


async def test_a_monitor_stopped_the_moment_a_broker_answers_stops(
    kafka_settings: KafkaSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Python 3.11's asyncio.wait_for drops a cancellation that arrives together with the answer
    # it waits for: the monitor ran on and its stop() never returned (a service that hung in its
    # shutdown). The stop here begins exactly then: as the real broker's answer arrives.
    monitor = ClusterLagMonitor("local", kafka_settings, LagSettings(**FAST))
    stops: list[asyncio.Task[None]] = []
    describe_topics = AIOKafkaAdminClient.describe_topics

    async def answer_then_stop(admin: AIOKafkaAdminClient, *args: Any, **kwargs: Any) -> Any:
        answer = await describe_topics(admin, *args, **kwargs)
        if not stops:
            stops.append(asyncio.create_task(monitor.stop()))
        return answer

    monkeypatch.setattr(AIOKafkaAdminClient, "describe_topics", answer_then_stop)
    await monitor.start()
    await wait_until(lambda: bool(stops), what="the monitor's first look at the topics")
    # Waited for without cancelling it: a stop that swallows cancellation would hide a hang.
    stopped, _ = await asyncio.wait(stops, timeout=30)
    watching = [t for t in asyncio.all_tasks() if t.get_name() == "lag-local"]
    for task in [*watching, *stops]:  # only when the stop hung: end it, nothing outlives the test
        task.cancel()
    assert stopped, "stop() did not return within 30 s"
    assert monitor.state == "stopped"
    assert not watching, "the monitor's task outlived its stop()"
