"""Listener containers against the real broker: subscriptions, injection, commits, ordering."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import defaultdict
from typing import Annotated

import pytest
from aiokafka.structs import ConsumerRecord, TopicPartition
from pydantic import BaseModel

from kafka_kit import kafka_listener
from kafka_kit.ack import AckMode, Acknowledgment
from kafka_kit.listener import (
    Inject,
    RecordOffset,
    RecordPartition,
    RecordTopic,
    TopicPartitionOffset,
)
from kafka_kit.recovery.back_off import FixedBackOff
from kafka_kit.recovery.error_handler import DefaultErrorHandler
from kafka_kit.registry import ListenerRegistry
from kafka_kit.settings import KafkaSettings
from kafka_kit.template import KafkaTemplate
from kafka_kit.testing import committed_offsets, wait_until
from tests.app_helpers import started
from tests.kafka_helpers import create_topic, produce


async def test_registration_starts_nothing_until_the_registry_starts(
    listener_settings: KafkaSettings, topic_name: str
) -> None:
    bootstrap = listener_settings.bootstrap_servers
    await create_topic(bootstrap, topic_name)
    await produce(bootstrap, topic_name, [b"a"])
    registry = ListenerRegistry()
    seen: list[bytes] = []

    @kafka_listener(topic_name, group_id=f"g-{topic_name}", registry=registry)
    async def handler(value: bytes) -> None:
        seen.append(value)

    assert set(registry.endpoints) == {"handler"}
    assert await committed_offsets(bootstrap, f"g-{topic_name}") == {}
    assert seen == []
    async with started(registry, listener_settings):
        await wait_until(lambda: seen == [b"a"], 30, "the record after start")


async def test_many_topics_a_pattern_and_explicit_partitions(
    listener_settings: KafkaSettings, topic_name: str
) -> None:
    bootstrap = listener_settings.bootstrap_servers
    a, b, other = f"{topic_name}-a", f"{topic_name}-b", f"x{topic_name}"
    fixed = f"{topic_name}-fixed"
    for topic in (a, b, other):
        await create_topic(bootstrap, topic)
    await create_topic(bootstrap, fixed, partitions=3)
    registry = ListenerRegistry()
    by_topics: list[str] = []
    by_pattern: list[str] = []
    by_partitions: list[tuple[int, int]] = []

    @kafka_listener(a, b, group_id=f"topics-{topic_name}", registry=registry)
    async def topics_listener(topic: str) -> None:
        by_topics.append(topic)

    @kafka_listener(
        pattern=f"^{topic_name}-[ab]$",
        group_id=f"pattern-{topic_name}",
        registry=registry,
        metadata_max_age_ms=1000,
    )
    async def pattern_listener(topic: str) -> None:
        by_pattern.append(topic)

    @kafka_listener(
        partitions=[(fixed, 0, 2), TopicPartitionOffset(fixed, 1, "end"), (fixed, 2)],
        registry=registry,
    )
    async def partitions_listener(partition: int, offset: int) -> None:
        by_partitions.append((partition, offset))

    for partition in range(3):
        await produce(bootstrap, fixed, [b"0", b"1", b"2", b"3"], partition=partition)
    async with started(registry, listener_settings):
        await produce(bootstrap, a, [b"1"])
        await produce(bootstrap, b, [b"2"])
        await produce(bootstrap, other, [b"3"])
        await produce(bootstrap, fixed, [b"late"], partition=1)
        await wait_until(lambda: len(by_topics) == 2 and len(by_pattern) == 2, 30, "both topics")
        await wait_until(lambda: len(by_partitions) == 7, 30, "the fixed partitions")
    assert sorted(by_topics) == sorted(by_pattern) == sorted([a, b])
    # Partition 0 from offset 2, partition 1 from its end (only the late record), 2 from the
    # start (no group, auto_offset_reset=earliest).
    assert sorted(by_partitions) == [(0, 2), (0, 3), (1, 4), (2, 0), (2, 1), (2, 2), (2, 3)]


class Order(BaseModel):
    id: int
    item: str


async def test_parameters_are_injected_by_annotation(
    listener_settings: KafkaSettings, topic_name: str
) -> None:
    bootstrap = listener_settings.bootstrap_servers
    await create_topic(bootstrap, topic_name)
    registry = ListenerRegistry()
    got: dict[str, object] = {}

    @kafka_listener(topic_name, group_id=f"g-{topic_name}", registry=registry)
    async def handler(
        order: Order,
        record: ConsumerRecord,
        key: str,
        headers: dict,
        topic: str,
        partition: int,
        offset: int,
        timestamp: int,
    ) -> None:
        got.update(locals())

    producer_args = {"key": b"customer-9", "timestamps": [1_700_000_000_123]}
    await produce(bootstrap, topic_name, [b'{"id": 7, "item": "tea"}'], **producer_args)
    async with started(registry, listener_settings):
        await wait_until(lambda: bool(got), 30, "the record")
    assert got["order"] == Order(id=7, item="tea")
    assert isinstance(got["record"], ConsumerRecord)
    assert (got["key"], got["topic"], got["partition"], got["offset"]) == (
        "customer-9",
        topic_name,
        0,
        0,
    )
    assert got["timestamp"] == 1_700_000_000_123
    assert got["headers"] == {}


async def test_a_sync_handler_does_not_block_the_event_loop(
    listener_settings: KafkaSettings, topic_name: str
) -> None:
    bootstrap = listener_settings.bootstrap_servers
    await create_topic(bootstrap, topic_name)
    registry = ListenerRegistry()
    threads: list[int] = []
    ticks_during: list[int] = []
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    @kafka_listener(topic_name, group_id=f"g-{topic_name}", registry=registry)
    def slow_sync(value: str) -> None:
        threads.append(threading.get_ident())
        before = ticks
        time.sleep(0.5)  # blocking work: runs in a worker thread
        ticks_during.append(ticks - before)

    ticking = asyncio.create_task(ticker())
    try:
        await produce(bootstrap, topic_name, [b"work"])
        async with started(registry, listener_settings):
            await wait_until(lambda: bool(ticks_during), 30, "the sync handler")
    finally:
        ticking.cancel()
    assert threads[0] != threading.get_ident()
    assert ticks_during[0] >= 20  # the loop kept running while the handler slept


async def _ack_mode_run(
    settings: KafkaSettings,
    topic: str,
    ack_mode: AckMode,
    committed_while_running: int,
    **listener: object,
) -> list[dict[tuple[str, int], int]]:
    """Five records; before handling each, snapshot the group's committed offsets.

    Then wait until ``committed_while_running`` is committed, stop, and expect all five.
    """
    bootstrap = settings.bootstrap_servers
    group = f"g-{topic}-{ack_mode}"
    registry = ListenerRegistry()
    snapshots: list[dict[tuple[str, int], int]] = []

    async def snapshot() -> None:
        snapshots.append(await committed_offsets(bootstrap, group))

    if ack_mode.manual:

        @kafka_listener(topic, group_id=group, ack_mode=ack_mode, registry=registry, **listener)
        async def manual(offset: int, ack: Acknowledgment) -> None:
            await snapshot()
            if offset != 3:  # record 3 is never acknowledged
                ack.acknowledge()

    else:

        @kafka_listener(topic, group_id=group, ack_mode=ack_mode, registry=registry, **listener)
        async def automatic(offset: int) -> None:
            await snapshot()

    async with started(registry, settings):
        await wait_until(lambda: len(snapshots) == 5, 30, "five records")
        await wait_until(
            lambda: _committed(bootstrap, group, topic, committed_while_running),
            10,
            f"offset {committed_while_running} committed while running",
        )
    # Stopping commits whatever was handled and not yet committed.
    assert (await committed_offsets(bootstrap, group))[(topic, 0)] == 5
    return snapshots


@pytest.mark.parametrize(
    ("ack_mode", "listener", "seen_before", "while_running"),
    [
        # Committed offset seen while handling record n (None: nothing committed yet).
        (AckMode.RECORD, {}, [None, 1, 2, 3, 4], 5),
        (AckMode.BATCH, {}, [None, None, None, None, None], 5),
        (AckMode.COUNT, {"ack_count": 2}, [None, None, 2, 2, 4], 4),
        (AckMode.COUNT_TIME, {"ack_count": 2, "ack_time_s": 60}, [None, None, 2, 2, 4], 4),
        (AckMode.MANUAL_IMMEDIATE, {}, [None, 1, 2, 3, 3], 5),
        # Record 3 is never acknowledged, but record 4 is: its commit covers it.
        (AckMode.MANUAL, {}, [None, None, None, None, None], 5),
    ],
)
async def test_ack_modes_commit_at_their_moment(
    listener_settings: KafkaSettings,
    topic_name: str,
    ack_mode: AckMode,
    listener: dict[str, object],
    seen_before: list[int | None],
    while_running: int,
) -> None:
    await create_topic(listener_settings.bootstrap_servers, topic_name)
    await produce(listener_settings.bootstrap_servers, topic_name, [b"r"] * 5, partition=0)
    snapshots = await _ack_mode_run(
        listener_settings, topic_name, ack_mode, while_running, max_poll_records=5, **listener
    )
    assert [s.get((topic_name, 0)) for s in snapshots] == seen_before


async def test_time_ack_mode_commits_when_the_interval_passed(
    listener_settings: KafkaSettings, topic_name: str
) -> None:
    await create_topic(listener_settings.bootstrap_servers, topic_name)
    await produce(listener_settings.bootstrap_servers, topic_name, [b"r"] * 5, partition=0)
    started_at = time.monotonic()
    snapshots = await _ack_mode_run(
        listener_settings, topic_name, AckMode.TIME, 5, ack_time_s=1.5, max_poll_records=5
    )
    # Nothing was committed while the five were handled; the commit came with the interval.
    assert [s.get((topic_name, 0)) for s in snapshots] == [None] * 5
    assert time.monotonic() - started_at >= 1.5


async def test_a_failing_record_is_never_skipped_by_a_later_commit(
    listener_settings: KafkaSettings, topic_name: str
) -> None:
    bootstrap = listener_settings.bootstrap_servers
    group = f"g-{topic_name}"
    await create_topic(bootstrap, topic_name)
    await produce(bootstrap, topic_name, [str(n).encode() for n in range(10)], partition=0)
    registry = ListenerRegistry()
    handled: list[int] = []
    failures = 0
    healed = asyncio.Event()

    @kafka_listener(
        topic_name,
        group_id=group,
        ack_mode=AckMode.RECORD,
        error_handler=DefaultErrorHandler(back_off=FixedBackOff(0.2, None)),
        registry=registry,
    )
    async def flaky(offset: int) -> None:
        nonlocal failures
        if offset == 3 and not healed.is_set():
            failures += 1
            raise RuntimeError("downstream unavailable")
        handled.append(offset)

    async with started(registry, listener_settings):
        await wait_until(lambda: failures >= 3, 30, "three failures of record 3")
        # Later records of the partition wait; nothing past the failed record is committed.
        assert handled == [0, 1, 2]
        assert (await committed_offsets(bootstrap, group))[(topic_name, 0)] == 3
        healed.set()
        await wait_until(lambda: len(handled) == 10, 30, "the rest")
        await wait_until(
            lambda: _committed(bootstrap, group, topic_name, 10), 10, "commit of everything"
        )
    assert handled == list(range(10))
    metrics = registry.container("flaky").children[0].metrics
    assert metrics.records_failed == failures
    assert metrics.retries == failures


async def _committed(bootstrap: str, group: str, topic: str, expected: int) -> bool:
    return (await committed_offsets(bootstrap, group)).get((topic, 0)) == expected


async def test_partition_order_holds_while_partitions_run_concurrently(
    listener_settings: KafkaSettings, topic_name: str
) -> None:
    bootstrap = listener_settings.bootstrap_servers
    await create_topic(bootstrap, topic_name, partitions=6)
    registry = ListenerRegistry()
    order: dict[int, list[int]] = defaultdict(list)
    in_flight = 0
    most_in_flight = 0

    @kafka_listener(topic_name, group_id=f"g-{topic_name}", concurrency=3, registry=registry)
    async def handler(partition: int, offset: int) -> None:
        nonlocal in_flight, most_in_flight
        in_flight += 1
        most_in_flight = max(most_in_flight, in_flight)
        await asyncio.sleep(0.002)
        order[partition].append(offset)
        in_flight -= 1

    async with started(registry, listener_settings):
        children = registry.container("handler").children
        await wait_until(
            lambda: [len(c.assignment) for c in children] == [2, 2, 2], 30, "two partitions each"
        )
        for partition in range(6):
            await produce(bootstrap, topic_name, [b"x"] * 50, partition=partition)
        await wait_until(lambda: sum(map(len, order.values())) == 300, 60, "all 300 records")
    assert {p: offsets for p, offsets in order.items()} == {p: list(range(50)) for p in range(6)}
    assert 2 <= most_in_flight <= 3


async def test_batch_listener_gets_lists_and_a_failed_batch_comes_again(
    listener_settings: KafkaSettings, topic_name: str
) -> None:
    bootstrap = listener_settings.bootstrap_servers
    group = f"g-{topic_name}"
    await create_topic(bootstrap, topic_name)
    await produce(bootstrap, topic_name, [f'{{"id": {n}, "item": "x"}}'.encode() for n in range(4)])
    registry = ListenerRegistry()
    batches: list[list[int]] = []
    calls = 0

    @kafka_listener(
        topic_name,
        group_id=group,
        batch=True,
        max_poll_records=4,
        error_handler=DefaultErrorHandler(back_off=FixedBackOff(0.1, None)),
        registry=registry,
    )
    async def bulk(orders: list[Order], offsets: list[int], keys: list[str | None]) -> None:
        nonlocal calls
        calls += 1
        assert keys == [None] * len(orders)
        if calls == 1:
            raise RuntimeError("the bulk insert failed")
        batches.append([order.id for order in orders])
        assert offsets == [order.id for order in orders]

    async with started(registry, listener_settings):
        await wait_until(lambda: sum(map(len, batches)) == 4, 30, "the batch, redelivered")
        await wait_until(lambda: _committed(bootstrap, group, topic_name, 4), 10, "its commit")
    assert batches == [[0, 1, 2, 3]]  # the failed batch came back whole, once it succeeded
    assert calls == 2


async def test_a_busy_listener_logs_a_summary_not_a_line_per_record(
    listener_settings: KafkaSettings, topic_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    await create_topic(listener_settings.bootstrap_servers, topic_name)
    await produce(listener_settings.bootstrap_servers, topic_name, [b"x"] * 300)
    consumer = listener_settings.consumer.model_copy(update={"progress_log_s": 0.5})
    settings = listener_settings.model_copy(update={"consumer": consumer})
    registry = ListenerRegistry()
    handled: list[bytes] = []

    @kafka_listener(topic_name, group_id=f"g-{topic_name}", id="quiet", registry=registry)
    async def quiet(value: bytes) -> None:
        handled.append(value)

    caplog.set_level(logging.INFO, "kafka_kit.listener")

    def summed() -> int:
        lines = [r.getMessage() for r in caplog.records if r.name == "kafka_kit.listener"]
        return sum(int(m.split("handled ")[1].split(" ")[0].replace(",", "")) for m in lines)

    async with started(registry, settings):
        await wait_until(lambda: summed() == 300, 30, "the summaries to add up to 300")
    lines = [r for r in caplog.records if r.name == "kafka_kit.listener"]
    assert 1 <= len(lines) < 10  # a few summaries, not 300 lines
    assert all(r.getMessage().startswith("listener quiet: handled ") for r in lines)


async def test_consumer_properties_pass_through(
    listener_settings: KafkaSettings, topic_name: str
) -> None:
    bootstrap = listener_settings.bootstrap_servers
    await create_topic(bootstrap, topic_name)
    template = KafkaTemplate(listener_settings, transactional_id=f"tx-{topic_name}")
    async with template:
        with contextlib.suppress(RuntimeError):
            async with template.transaction():
                await template.send(topic_name, "aborted")
                raise RuntimeError("abort")
        async with template.transaction():
            await template.send(topic_name, "committed")
    registry = ListenerRegistry()
    seen: list[str] = []

    @kafka_listener(
        topic_name,
        group_id=f"g-{topic_name}",
        isolation_level="read_committed",
        auto_offset_reset="earliest",
        registry=registry,
    )
    async def committed_only(value: str) -> None:
        seen.append(value)

    async with started(registry, listener_settings):
        await wait_until(lambda: seen == ["committed"], 30, "the committed record")
    child = registry.container("committed_only").children[0]
    assert child.consumer_config["isolation_level"] == "read_committed"
    assert child.consumer_config["enable_auto_commit"] is False


async def test_a_pattern_listener_finds_a_topic_created_after_it_started(
    listener_settings: KafkaSettings, topic_name: str
) -> None:
    bootstrap = listener_settings.bootstrap_servers
    # The setting every consumer gets (default 30 s; shortened here so the test is quick).
    consumer = listener_settings.consumer.model_copy(update={"metadata_max_age_ms": 1000})
    settings = listener_settings.model_copy(update={"consumer": consumer})
    await create_topic(bootstrap, f"{topic_name}-first")
    registry = ListenerRegistry()
    seen: list[str] = []

    @kafka_listener(pattern=f"^{topic_name}-.*", group_id=f"g-{topic_name}", registry=registry)
    async def handler(topic: str) -> None:
        seen.append(topic)

    async with started(registry, settings):
        await produce(bootstrap, f"{topic_name}-first", [b"1"])
        await wait_until(lambda: seen == [f"{topic_name}-first"], 30, "the first topic")
        await create_topic(bootstrap, f"{topic_name}-later")
        await produce(bootstrap, f"{topic_name}-later", [b"2"])
        await wait_until(lambda: f"{topic_name}-later" in seen, 30, "the topic created later")


class Ledger:
    def __init__(self) -> None:
        self.entries: list[tuple[object, ...]] = []


async def test_dependencies_go_anywhere_and_the_annotation_wins(
    listener_settings: KafkaSettings, topic_name: str
) -> None:
    bootstrap = listener_settings.bootstrap_servers
    await create_topic(bootstrap, topic_name)
    await produce(bootstrap, topic_name, [b'{"id": 7, "item": "book"}'])
    registry = ListenerRegistry()
    ledger = Ledger()

    @kafka_listener(topic_name, group_id=f"a-{topic_name}", registry=registry)
    async def first(book: Annotated[Ledger, Inject], order: Order) -> None:  # before the payload
        book.entries.append(("first", order.id))

    @kafka_listener(topic_name, group_id=f"b-{topic_name}", registry=registry)
    async def second(offset: Order) -> None:  # an Order, whatever the parameter is called
        ledger.entries.append(("second", offset.id))

    @kafka_listener(topic_name, group_id=f"c-{topic_name}", registry=registry)
    async def third(
        order: Order,
        where: Annotated[int, RecordOffset],
        part: Annotated[int, RecordPartition],
        topic: Annotated[str, RecordTopic],
    ) -> None:
        ledger.entries.append(("third", order.id, where, part, topic == topic_name))

    await registry.start(listener_settings, dependencies={Ledger: ledger})
    try:
        await wait_until(lambda: len(ledger.entries) == 3, 30, "all three listeners")
    finally:
        await registry.stop()
    assert sorted(ledger.entries, key=str) == [
        ("first", 7),
        ("second", 7),
        ("third", 7, 0, 0, True),
    ]


async def test_a_listener_deserializer_and_rebalance_hook(
    listener_settings: KafkaSettings, topic_name: str
) -> None:
    bootstrap = listener_settings.bootstrap_servers
    await create_topic(bootstrap, topic_name, partitions=2)
    await produce(bootstrap, topic_name, [b"7|book", b"not-a-pair", b"8|pen"], partition=0)
    registry = ListenerRegistry()
    orders: list[tuple[int, str]] = []
    dead: list[bytes | None] = []
    events: list[tuple[str, set[int]]] = []

    def pipe_separated(raw: bytes | None) -> tuple[int, str]:
        number, item = (raw or b"").decode().split("|")
        return int(number), item

    class Hook:
        async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
            events.append(("assigned", {tp.partition for tp in assigned}))

        def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
            events.append(("revoked", {tp.partition for tp in revoked}))

    class Recorder:
        async def recover(self, record: ConsumerRecord, exc: Exception, context: object) -> None:
            dead.append(record.value)

    @kafka_listener(
        topic_name,
        group_id=f"g-{topic_name}",
        value_deserializer=pipe_separated,
        rebalance_listener=Hook(),
        error_handler=DefaultErrorHandler(Recorder(), FixedBackOff(0.1, 4)),
        registry=registry,
    )
    async def take(order: tuple[int, str]) -> None:
        orders.append(order)

    async with started(registry, listener_settings):
        await wait_until(lambda: len(orders) == 2 and dead, 30, "both orders and the bad one")
    assert orders == [(7, "book"), (8, "pen")]
    # A value the deserializer cannot read is a poison pill: recovered at once, never retried.
    assert dead == [b"not-a-pair"]
    assert events[0] == ("assigned", {0, 1})
    assert events[-1] == ("revoked", {0, 1})  # on stop, after the container committed
