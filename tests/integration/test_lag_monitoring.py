"""Burrow-style lag monitoring against real brokers: every status made to happen for real."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from consumer_service.app import create_app
from kafka_kit.listener import kafka_listener
from kafka_kit.registry import ListenerRegistry
from kafka_kit.settings import KafkaSettings, LagSettings
from kafka_kit.testing import ProvidedKafka, wait_until
from producer_service.events import EventsTopicSettings
from tests.app_helpers import running
from tests.kafka_helpers import create_topic, produce

FAST = {"window": 4, "min_distance_s": 0, "offset_refresh_s": 0.3}


@pytest.fixture
async def burrow(
    listener_settings: KafkaSettings, topic_name: str
) -> AsyncIterator[tuple[httpx.AsyncClient, ListenerRegistry]]:
    registry = ListenerRegistry()
    handled: list[int] = []

    @kafka_listener(f"{topic_name}-live", group_id=f"live-{topic_name}", registry=registry)
    async def live(offset: int) -> None:
        handled.append(offset)

    await create_topic(listener_settings.bootstrap_servers, f"{topic_name}-live")
    app = create_app(
        listener_settings,
        EventsTopicSettings(topic=topic_name, partitions=1),
        registry,
        lag=LagSettings(**FAST),
    )
    async with running(app, "consumer") as client:
        yield client, registry


class Committer:
    """A group that commits exactly the offsets a test wants, when it wants (real commits)."""

    def __init__(self, bootstrap: str, group: str, topic: str) -> None:
        self.tp = TopicPartition(topic, 0)
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
        )

    async def __aenter__(self) -> Committer:
        self.consumer.assign([self.tp])
        await self.consumer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.consumer.stop()

    async def commit(self, *offsets: int, every_s: float = 0.4) -> None:
        for offset in offsets:
            await self.consumer.commit({self.tp: offset})
            await asyncio.sleep(every_s)


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


async def test_caught_up_group_is_ok(
    burrow: tuple[httpx.AsyncClient, ListenerRegistry],
    listener_settings: KafkaSettings,
    topic_name: str,
) -> None:
    client, _ = burrow
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
    assert status["partitions"][0]["owner"] == "127.0.0.1"
    assert "live" in status["partitions"][0]["client_id"]


async def test_stopped_consumer_is_stop(
    burrow: tuple[httpx.AsyncClient, ListenerRegistry],
    listener_settings: KafkaSettings,
    topic_name: str,
) -> None:
    client, _ = burrow
    bootstrap = listener_settings.bootstrap_servers
    await create_topic(bootstrap, topic_name + "-s")
    await produce(bootstrap, topic_name + "-s", [b"x"] * 100)
    group = f"stop-{topic_name}"
    async with Committer(bootstrap, group, topic_name + "-s") as committer:
        await committer.commit(10, 20, 30, every_s=0.3)
    # No more commits: once the silence outlasts the window's span (0.6 s), it is STOP.
    status = await _wait_status(client, group, "STOP")
    assert status["status"] == "ERR"
    assert status["partitions"][0]["current_lag"] == 70


async def test_committing_the_same_offset_is_stall(
    burrow: tuple[httpx.AsyncClient, ListenerRegistry],
    listener_settings: KafkaSettings,
    topic_name: str,
) -> None:
    client, _ = burrow
    bootstrap = listener_settings.bootstrap_servers
    await create_topic(bootstrap, topic_name + "-st")
    await produce(bootstrap, topic_name + "-st", [b"x"] * 50)
    group = f"stall-{topic_name}"
    async with Committer(bootstrap, group, topic_name + "-st") as committer:
        committing = asyncio.create_task(committer.commit(*[7] * 40, every_s=0.25))
        try:
            status = await _wait_status(client, group, "STALL")
        finally:
            committing.cancel()
    assert status["status"] == "ERR"
    partition = status["partitions"][0]
    assert partition["start"]["offset"] == partition["end"]["offset"] == 7
    assert partition["current_lag"] == 43


async def test_slow_consumer_with_growing_lag_is_warn(
    burrow: tuple[httpx.AsyncClient, ListenerRegistry],
    listener_settings: KafkaSettings,
    topic_name: str,
) -> None:
    client, _ = burrow
    bootstrap = listener_settings.bootstrap_servers
    topic = topic_name + "-w"
    await create_topic(bootstrap, topic)
    await produce(bootstrap, topic, [b"x"] * 20)
    group = f"warn-{topic_name}"

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
    burrow: tuple[httpx.AsyncClient, ListenerRegistry],
    listener_settings: KafkaSettings,
    topic_name: str,
) -> None:
    client, _ = burrow
    bootstrap = listener_settings.bootstrap_servers
    topic = topic_name + "-r"
    await create_topic(bootstrap, topic)
    await produce(bootstrap, topic, [b"x"] * 100)
    group = f"rewind-{topic_name}"
    async with Committer(bootstrap, group, topic) as committer:
        committing = asyncio.create_task(committer.commit(60, 70, 20, 25, 30, 35, 40, every_s=0.2))
        try:
            status = await _wait_status(client, group, "REWIND")
        finally:
            committing.cancel()
    assert status["status"] == "ERR"


async def test_burrow_endpoints_and_404s(
    burrow: tuple[httpx.AsyncClient, ListenerRegistry],
    listener_settings: KafkaSettings,
    topic_name: str,
) -> None:
    client, _ = burrow
    bootstrap = listener_settings.bootstrap_servers
    await produce(bootstrap, f"{topic_name}-live", [b"x"] * 3)
    group = f"live-{topic_name}"
    await wait_until(lambda: _has_group(client, group), 30, "the live group")

    clusters = (await client.get("/v3/kafka")).json()
    assert clusters["error"] is False and clusters["clusters"] == ["local"]
    assert clusters["request"]["url"] == "/v3/kafka"
    detail = (await client.get("/v3/kafka/local")).json()
    assert detail["module"]["servers"] == bootstrap.split(",")
    topics = (await client.get("/v3/kafka/local/topic")).json()["topics"]
    assert f"{topic_name}-live" in topics and not any(t.startswith("__") for t in topics)
    offsets = (await client.get(f"/v3/kafka/local/topic/{topic_name}-live")).json()["offsets"]
    assert offsets == [3]
    consumer = (await client.get(f"/v3/kafka/local/consumer/{group}")).json()
    (partition,) = consumer["topics"][f"{topic_name}-live"]
    assert set(partition) == {"offsets", "owner", "client_id", "current-lag"}
    assert set(partition["offsets"][-1]) == {"offset", "timestamp", "observedAt", "lag"}
    status = (await client.get(f"/v3/kafka/local/consumer/{group}/status")).json()["status"]
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
    for path, message in (
        ("/v3/kafka/nowhere", "cluster not found"),
        ("/v3/kafka/nowhere/consumer", "cluster not found"),
        ("/v3/kafka/local/consumer/no-such-group/status", "cluster or consumer not found"),
        ("/v3/kafka/local/consumer/no-such-group/lag", "cluster or consumer not found"),
        ("/v3/kafka/local/topic/no-such-topic", "topic not found"),
    ):
        response = await client.get(path)
        assert response.status_code == 404
        assert response.json() == {
            "error": True,
            "message": message,
            "request": {"url": path, "host": response.json()["request"]["host"]},
        }


async def _has_group(client: httpx.AsyncClient, group: str) -> bool:
    consumers = (await client.get("/v3/kafka/local/consumer")).json()["consumers"]
    return group in consumers


async def test_lag_report_and_prometheus_metrics(
    burrow: tuple[httpx.AsyncClient, ListenerRegistry],
    listener_settings: KafkaSettings,
    topic_name: str,
) -> None:
    client, _ = burrow
    bootstrap = listener_settings.bootstrap_servers
    topic = topic_name + "-m"
    await create_topic(bootstrap, topic)
    await produce(bootstrap, topic, [b"x"] * 40)
    group = f"metrics-{topic_name}"
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

    await produce(bootstrap, f"{topic_name}-live", [b"x"])
    await wait_until(lambda: _has_group(client, f"live-{topic_name}"), 30, "the live group")
    text = (await client.get("/metrics")).text
    labels = f'cluster="local",group="{group}",partition="0",topic="{topic}"'
    lag_line = f"kafka_consumergroup_lag{{{labels}}} 25.0"
    assert lag_line in text
    assert f'kafka_consumergroup_status{{cluster="local",group="{group}"}}' in text
    assert 'kafka_listener_records_total{listener="live",outcome="handled"}' in text
    assert "kafka_listener_handler_seconds_bucket" in text


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
