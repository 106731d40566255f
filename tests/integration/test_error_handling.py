"""Error handling against the real broker: back-off, dead letters, poison pills, retry topics."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import struct
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from prometheus_client import CollectorRegistry
from pydantic import BaseModel

from kafka_kit import headers as h
from kafka_kit import kafka_listener
from kafka_kit.errors import BatchListenerFailedError
from kafka_kit.recovery.back_off import ExponentialBackOff, FixedBackOff
from kafka_kit.recovery.dead_letter import DeadLetterPublishingRecoverer
from kafka_kit.recovery.error_handler import DefaultErrorHandler
from kafka_kit.recovery.retry_topics import RetryTopics
from kafka_kit.registry import ListenerRegistry
from kafka_kit.settings import ConsumerSettings, KafkaSettings
from kafka_kit.template import KafkaTemplate
from kafka_kit.testing import committed_offsets, read_records, wait_until
from tests.app_helpers import started
from tests.kafka_helpers import create_topic, group_assignment, produce, read_to_end

ROOT = Path(__file__).resolve().parents[2]


class Order(BaseModel):
    id: int


@pytest.fixture
async def template(listener_settings: KafkaSettings) -> AsyncIterator[KafkaTemplate]:
    async with KafkaTemplate(listener_settings) as started_template:
        yield started_template


class Row(BaseModel):
    n: int


class Attempts:
    """A RetryListener that remembers when each delivery failed."""

    def __init__(self) -> None:
        self.failed: list[tuple[int, int, float]] = []
        self.recovered_offsets: list[int] = []
        self.recovery_failures = 0

    def failed_delivery(self, record, exc: Exception, attempt: int) -> None:
        self.failed.append((record.offset, attempt, time.monotonic()))

    def recovered(self, record, exc: Exception) -> None:
        self.recovered_offsets.append(record.offset)

    def recovery_failed(self, record, exc: Exception, failure: Exception) -> None:
        self.recovery_failures += 1


async def _committed(bootstrap: str, group: str, topic: str, partition: int = 0) -> int | None:
    return (await committed_offsets(bootstrap, group)).get((topic, partition))


async def _topic_and_dead_letters(bootstrap: str, topic: str, partitions: int = 1) -> None:
    """The test's topic and its ``-dlt``, partitioned alike (as the recoverer expects)."""
    await create_topic(bootstrap, topic, partitions=partitions)
    await create_topic(bootstrap, f"{topic}-dlt", partitions=partitions)


async def test_fails_n_times_then_succeeds_nothing_lost_or_committed_early(
    listener_settings: KafkaSettings, template: KafkaTemplate, topic_name: str
) -> None:
    bootstrap = listener_settings.bootstrap_servers
    group = f"g-{topic_name}"
    await _topic_and_dead_letters(bootstrap, topic_name)
    await produce(bootstrap, topic_name, [str(n).encode() for n in range(6)], partition=0)
    attempts = Attempts()
    registry = ListenerRegistry()
    handled: list[int] = []
    fail_left = 3
    committed_while_failing: list[int | None] = []

    @kafka_listener(
        topic_name,
        group_id=group,
        error_handler=DefaultErrorHandler(
            DeadLetterPublishingRecoverer(template),
            FixedBackOff(0.1, max_retries=4),
            retry_listeners=[attempts],
        ),
        registry=registry,
    )
    async def flaky(offset: int) -> None:
        nonlocal fail_left
        if offset == 2 and fail_left:
            fail_left -= 1
            committed_while_failing.append(await _committed(bootstrap, group, topic_name))
            raise ConnectionError("payment service down")
        handled.append(offset)

    async with started(registry, listener_settings):
        await wait_until(lambda: len(handled) == 6, 30, "all six")
        await wait_until(lambda: _is(bootstrap, group, topic_name, 6), 10, "the final commit")
    assert handled == [0, 1, 2, 3, 4, 5]
    assert [a[:2] for a in attempts.failed] == [(2, 1), (2, 2), (2, 3)]
    assert attempts.recovered_offsets == []
    # While record 2 kept failing, nothing at or past it was committed.
    assert all(c is None or c <= 2 for c in committed_while_failing)
    assert await read_to_end(bootstrap, f"{topic_name}-dlt") == []
    metrics = (await registry.container("flaky").status()).containers[0].metrics
    assert (metrics.retries, metrics.recovered, metrics.dead_lettered) == (3, 0, 0)


async def _is(bootstrap: str, group: str, topic: str, offset: int, partition: int = 0) -> bool:
    return await _committed(bootstrap, group, topic, partition) == offset


async def test_exponential_back_off_then_a_dead_letter_with_every_header(
    listener_settings: KafkaSettings, template: KafkaTemplate, topic_name: str
) -> None:
    bootstrap = listener_settings.bootstrap_servers
    group = f"g-{topic_name}"
    dlt = f"{topic_name}-dlt"
    await _topic_and_dead_letters(bootstrap, topic_name, partitions=3)
    await produce(bootstrap, topic_name, [b"ok-0"], partition=2)
    await template.send(
        topic_name, b"doomed", key="order-7", partition=2, headers={"trace-id": "t-42"}
    )
    await produce(bootstrap, topic_name, [b"ok-2"], partition=2)
    attempts = Attempts()
    registry = ListenerRegistry()
    handled: list[bytes] = []

    @kafka_listener(
        topic_name,
        group_id=group,
        error_handler=DefaultErrorHandler(
            DeadLetterPublishingRecoverer(template),
            ExponentialBackOff(initial_s=0.2, multiplier=2, max_s=5, max_retries=2),
            retry_listeners=[attempts],
        ),
        registry=registry,
    )
    async def strict(value: bytes) -> None:
        if value == b"doomed":
            raise ValueError("order 7 violates a business rule")
        handled.append(value)

    async with started(registry, listener_settings):
        await wait_until(lambda: handled == [b"ok-0", b"ok-2"], 30, "the partition moving on")
        await wait_until(lambda: _is(bootstrap, group, topic_name, 3, 2), 10, "the commit")
        status = await registry.container("strict").status()
    (letter,) = await read_records(bootstrap, dlt, 1)
    assert (letter.partition, letter.key, letter.value) == (2, b"order-7", b"doomed")
    headers = dict(letter.headers)
    assert headers["trace-id"] == b"t-42"
    assert headers[h.DLT_EXCEPTION_FQCN] == b"builtins.ValueError"
    assert headers[h.DLT_EXCEPTION_MESSAGE] == b"order 7 violates a business rule"
    assert b"raise ValueError" in headers[h.DLT_EXCEPTION_STACKTRACE]
    assert headers[h.DLT_ORIGINAL_TOPIC] == topic_name.encode()
    # Spring's encodings: a 4-byte int, 8-byte longs, the timestamp type by name.
    assert headers[h.DLT_ORIGINAL_PARTITION] == struct.pack(">i", 2)
    assert headers[h.DLT_ORIGINAL_OFFSET] == struct.pack(">q", 1)
    assert struct.unpack(">q", headers[h.DLT_ORIGINAL_TIMESTAMP])[0] > 0
    assert headers[h.DLT_ORIGINAL_TIMESTAMP_TYPE] == b"CreateTime"
    assert headers[h.DLT_ORIGINAL_CONSUMER_GROUP] == group.encode()
    assert headers[h.DLT_EXCEPTION_CAUSE_FQCN] == b"builtins.ValueError"
    # Three deliveries, 0.2 s then 0.4 s apart.
    times = [t for offset, _, t in attempts.failed if offset == 1]
    assert len(times) == 3
    assert times[1] - times[0] >= 0.2 and times[2] - times[1] >= 0.4
    metrics = status.containers[0].metrics
    assert (metrics.retries, metrics.recovered, metrics.dead_lettered) == (2, 1, 1)


async def test_not_retryable_exceptions_are_dead_lettered_at_once(
    listener_settings: KafkaSettings, template: KafkaTemplate, topic_name: str
) -> None:
    bootstrap = listener_settings.bootstrap_servers
    await _topic_and_dead_letters(bootstrap, topic_name)
    await produce(bootstrap, topic_name, [b"x"])
    attempts = Attempts()
    registry = ListenerRegistry()

    @kafka_listener(
        topic_name,
        group_id=f"g-{topic_name}",
        error_handler=DefaultErrorHandler(
            DeadLetterPublishingRecoverer(template),
            FixedBackOff(0.1, 9),
            not_retryable=[PermissionError],
            retry_listeners=[attempts],
        ),
        registry=registry,
    )
    async def forbidden(value: bytes) -> None:
        raise PermissionError("never allowed")

    async with started(registry, listener_settings):
        await wait_until(lambda: attempts.recovered_offsets == [0], 30, "the dead letter")
    assert [a[1] for a in attempts.failed] == [1]
    (letter,) = await read_records(bootstrap, f"{topic_name}-dlt", 1)
    assert dict(letter.headers)[h.DLT_EXCEPTION_FQCN] == b"builtins.PermissionError"


@pytest.mark.parametrize(
    "poison",
    [b"{not json", b'{"id": "not a number"}', b'{"name": "wrong shape"}', b""],
    ids=["invalid-json", "wrong-type", "wrong-shape", "empty"],
)
async def test_poison_pills_go_straight_to_the_dead_letter_topic(
    listener_settings: KafkaSettings, template: KafkaTemplate, topic_name: str, poison: bytes
) -> None:
    bootstrap = listener_settings.bootstrap_servers
    await _topic_and_dead_letters(bootstrap, topic_name)
    await produce(bootstrap, topic_name, [b'{"id": 1}', poison, b'{"id": 3}'])
    attempts = Attempts()
    registry = ListenerRegistry()
    orders: list[int] = []

    @kafka_listener(
        topic_name,
        group_id=f"g-{topic_name}",
        error_handler=DefaultErrorHandler(
            DeadLetterPublishingRecoverer(template), FixedBackOff(5, 9), retry_listeners=[attempts]
        ),
        registry=registry,
    )
    async def typed(order: Order) -> None:
        orders.append(order.id)

    async with started(registry, listener_settings):
        await wait_until(lambda: orders == [1, 3], 30, "the partition moving past the pill")
    assert [a[:2] for a in attempts.failed] == [(1, 1)]  # one delivery, no 5-second back-off
    (letter,) = await read_records(bootstrap, f"{topic_name}-dlt", 1)
    assert letter.value == poison  # raw bytes intact
    headers = dict(letter.headers)
    assert headers[h.DLT_EXCEPTION_FQCN] == b"kafka_kit.errors.DeserializationError"
    assert headers[h.DLT_ORIGINAL_OFFSET] == struct.pack(">q", 1)


async def test_a_long_back_off_keeps_the_consumer_in_its_group(
    kafka_bootstrap_servers: str, topic_name: str
) -> None:
    # max.poll.interval.ms is 2 s; the back-off totals 4.5 s. Sleeping through it would get the
    # consumer thrown out; pausing the partition and polling on does not.
    settings = KafkaSettings(
        bootstrap_servers=kafka_bootstrap_servers,
        consumer=ConsumerSettings(
            poll_timeout_ms=200,
            heartbeat_interval_ms=300,
            session_timeout_ms=6000,
            max_poll_interval_ms=2000,
        ),
    )
    group = f"g-{topic_name}"
    await create_topic(bootstrap=kafka_bootstrap_servers, name=topic_name)
    await produce(kafka_bootstrap_servers, topic_name, [b"slow to succeed"])
    attempts = Attempts()
    registry = ListenerRegistry()
    handled: list[bytes] = []

    @kafka_listener(
        topic_name,
        group_id=group,
        error_handler=DefaultErrorHandler(
            back_off=FixedBackOff(1.5, max_retries=9), retry_listeners=[attempts]
        ),
        registry=registry,
    )
    async def patient(value: bytes) -> None:
        if len(attempts.failed) < 3:
            raise TimeoutError("not yet")
        handled.append(value)

    async with started(registry, settings):
        child = registry.container("patient").children[0]
        await wait_until(lambda: child.metrics.rebalances == 1, 30, "the first assignment")
        (member_before,) = await group_assignment(kafka_bootstrap_servers, group)
        await wait_until(lambda: handled == [b"slow to succeed"], 30, "success after 4.5 s")
        (member_after,) = await group_assignment(kafka_bootstrap_servers, group)
    assert attempts.failed[-1][2] - attempts.failed[0][2] >= 3.0
    assert child.metrics.rebalances == 1  # never left the group
    assert member_after == member_before


async def test_blocking_in_the_handler_past_max_poll_interval_does_cost_the_membership(
    kafka_bootstrap_servers: str, topic_name: str
) -> None:
    # The control for the test above: the same wait done by sleeping is noticed by Kafka.
    settings = KafkaSettings(
        bootstrap_servers=kafka_bootstrap_servers,
        consumer=ConsumerSettings(
            poll_timeout_ms=200,
            heartbeat_interval_ms=300,
            session_timeout_ms=6000,
            max_poll_interval_ms=2000,
        ),
    )
    await create_topic(bootstrap=kafka_bootstrap_servers, name=topic_name)
    await produce(kafka_bootstrap_servers, topic_name, [b"x"])
    registry = ListenerRegistry()
    handled: list[bytes] = []

    @kafka_listener(topic_name, group_id=f"g-{topic_name}", registry=registry)
    async def sleepy(value: bytes) -> None:
        await asyncio.sleep(4.5)
        handled.append(value)

    async with started(registry, settings):
        child = registry.container("sleepy").children[0]
        await wait_until(lambda: child.metrics.rebalances >= 2, 30, "a second assignment")


async def test_a_failed_dead_letter_write_leaves_the_record_uncommitted(
    listener_settings: KafkaSettings, template: KafkaTemplate, topic_name: str
) -> None:
    bootstrap = listener_settings.bootstrap_servers
    group = f"g-{topic_name}"
    dlt = f"{topic_name}-dlt"
    await create_topic(bootstrap, topic_name)
    await create_topic(bootstrap, dlt, **{"max.message.bytes": "300"})
    await produce(bootstrap, topic_name, [b"x" * 1000, b"next"])
    attempts = Attempts()
    registry = ListenerRegistry()
    handled: list[bytes] = []

    @kafka_listener(
        topic_name,
        group_id=group,
        error_handler=DefaultErrorHandler(
            DeadLetterPublishingRecoverer(template),
            FixedBackOff(0.05, max_retries=1),
            retry_listeners=[attempts],
            recovery_retry_s=0.3,
        ),
        registry=registry,
    )
    async def rejecting(value: bytes) -> None:
        if len(value) == 1000:
            raise ValueError("too big to handle")
        handled.append(value)

    async with started(registry, listener_settings):
        await wait_until(lambda: attempts.recovery_failures >= 2, 30, "dead-letter writes failing")
        assert await _committed(bootstrap, group, topic_name) in (None, 0)
        assert handled == []  # the next record waits: no skipping
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            await admin.alter_configs(
                [ConfigResource(ConfigResourceType.TOPIC, dlt, {"max.message.bytes": "1048588"})]
            )
        finally:
            await admin.close()
        await wait_until(lambda: handled == [b"next"], 30, "recovery once the DLT takes it")
        await wait_until(lambda: _is(bootstrap, group, topic_name, 2), 10, "the commit")
    (letter,) = await read_records(bootstrap, dlt, 1)
    assert letter.value == b"x" * 1000


BACKING_OFF_PROCESS = """
import asyncio, sys
from kafka_kit.recovery.back_off import FixedBackOff
from kafka_kit.recovery.error_handler import DefaultErrorHandler
from kafka_kit import kafka_listener
from kafka_kit.registry import ListenerRegistry
from kafka_kit.settings import ConsumerSettings, KafkaSettings

class Announce:
    def failed_delivery(self, record, exc, attempt):
        print(f"failed {record.offset}", flush=True)

async def main():
    registry = ListenerRegistry()

    @kafka_listener(
        sys.argv[2], group_id=sys.argv[3], registry=registry,
        error_handler=DefaultErrorHandler(
            back_off=FixedBackOff(60, None), retry_listeners=[Announce()]
        ),
    )
    async def doomed(offset: int) -> None:
        if offset == 1:
            raise RuntimeError("fails until the process is killed")
        print(f"handled {offset}", flush=True)

    consumer = ConsumerSettings(session_timeout_ms=6000, heartbeat_interval_ms=500)
    await registry.start(KafkaSettings(bootstrap_servers=sys.argv[1], consumer=consumer))
    await asyncio.Event().wait()

asyncio.run(main())
"""


async def test_killed_during_a_back_off_loses_and_skips_nothing(
    listener_settings: KafkaSettings, topic_name: str
) -> None:
    bootstrap = listener_settings.bootstrap_servers
    group = f"g-{topic_name}"
    await create_topic(bootstrap, topic_name)
    await produce(bootstrap, topic_name, [b"0", b"1", b"2"])
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        BACKING_OFF_PROCESS,
        bootstrap,
        topic_name,
        group,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    lines: list[str] = []
    try:
        assert process.stdout is not None
        async with asyncio.timeout(60):
            while "failed 1" not in lines:
                lines.append((await process.stdout.readline()).decode().strip())
        # The batch's handled part (record 0) is committed; then the back-off runs.
        await wait_until(lambda: _is(bootstrap, group, topic_name, 1), 10, "record 0 committed")
    finally:
        process.send_signal(signal.SIGKILL)  # in the middle of a 60-second back-off
        await process.wait()
    assert lines[0] == "handled 0"
    # Record 0 is committed, record 1 is not (the next owner gets it), 2 was never skipped to.
    assert await _committed(bootstrap, group, topic_name) == 1

    redelivered: list[int] = []
    registry = ListenerRegistry()

    @kafka_listener(topic_name, group_id=group, registry=registry)
    async def successor(offset: int) -> None:
        redelivered.append(offset)

    # The killed member's session must expire before its partition moves: up to session.timeout.
    async with started(registry, listener_settings):
        await wait_until(lambda: redelivered[:2] == [1, 2], 60, "records 1 and 2 redelivered")
    assert 0 not in redelivered


async def _with_dead_letters(bootstrap: str, topic: str, values: list[bytes]) -> None:
    """``topic`` holding ``values``, and its dead-letter topic."""
    await create_topic(bootstrap, topic)
    await create_topic(bootstrap, f"{topic}-dlt")
    await produce(bootstrap, topic, values)


def _batches_of_six(
    topic: str, group: str, template: KafkaTemplate, registry: ListenerRegistry, *, retries: int
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A batch listener of up to six records that dead-letters after ``retries`` retries."""
    return kafka_listener(
        topic,
        group_id=group,
        batch=True,
        max_poll_records=6,
        error_handler=DefaultErrorHandler(
            DeadLetterPublishingRecoverer(template), FixedBackOff(0.1, max_retries=retries)
        ),
        registry=registry,
    )


async def test_batch_listener_names_the_failed_record(
    listener_settings: KafkaSettings, template: KafkaTemplate, topic_name: str
) -> None:
    bootstrap = listener_settings.bootstrap_servers
    group = f"g-{topic_name}"
    await _with_dead_letters(bootstrap, topic_name, [str(n).encode() for n in range(6)])
    registry = ListenerRegistry()
    deliveries: list[list[int]] = []
    committed_at_second_delivery: list[int | None] = []

    @_batches_of_six(topic_name, group, template, registry, retries=1)
    async def bulk(offsets: list[int]) -> None:
        deliveries.append(offsets)
        if len(deliveries) == 2:
            committed_at_second_delivery.append(await _committed(bootstrap, group, topic_name))
        if 3 in offsets:
            raise BatchListenerFailedError(offsets.index(3), RuntimeError("row 3 is bad"))

    async with started(registry, listener_settings):
        await wait_until(lambda: _is(bootstrap, group, topic_name, 6), 30, "everything committed")
    # 0-2 committed at once; 3 retried alone-first, then dead-lettered; 4-5 delivered again.
    assert deliveries[0] == [0, 1, 2, 3, 4, 5]
    assert committed_at_second_delivery == [3]
    assert all(0 not in d and 1 not in d and 2 not in d for d in deliveries[1:])
    assert deliveries[-1] == [4, 5]
    (letter,) = await read_records(bootstrap, f"{topic_name}-dlt", 1)
    assert letter.value == b"3"
    assert dict(letter.headers)[h.DLT_EXCEPTION_MESSAGE] == b"row 3 is bad"


async def test_a_batch_with_a_poison_pill_hands_the_records_before_it_to_the_handler(
    listener_settings: KafkaSettings, template: KafkaTemplate, topic_name: str
) -> None:
    """Records before an undeserializable one are committed only after the handler had them."""
    bootstrap = listener_settings.bootstrap_servers
    group = f"g-{topic_name}"
    values = [json.dumps({"n": n}).encode() for n in range(6)]
    values[3] = b"not json"
    await _with_dead_letters(bootstrap, topic_name, values)
    registry = ListenerRegistry()
    handled: list[int] = []

    @_batches_of_six(topic_name, group, template, registry, retries=0)
    async def bulk(rows: list[Row]) -> None:
        handled.extend(row.n for row in rows)

    async with started(registry, listener_settings):
        await wait_until(lambda: _is(bootstrap, group, topic_name, 6), 30, "everything committed")
    assert sorted(handled) == [0, 1, 2, 4, 5]
    (letter,) = await read_records(bootstrap, f"{topic_name}-dlt", 1)
    assert letter.value == b"not json"


async def test_non_blocking_retries_through_retry_topics(
    listener_settings: KafkaSettings, topic_name: str
) -> None:
    bootstrap = listener_settings.bootstrap_servers
    await create_topic(bootstrap, topic_name, partitions=3)
    registry = ListenerRegistry()
    handled: list[tuple[str, float]] = []
    deliveries: dict[str, list[tuple[str, float]]] = {}

    @kafka_listener(
        topic_name,
        group_id=f"g-{topic_name}",
        retry_topics=RetryTopics(
            attempts=3, back_off=ExponentialBackOff(initial_s=0.5, multiplier=2, max_s=5)
        ),
        registry=registry,
    )
    async def resilient(value: str, topic: str) -> None:
        deliveries.setdefault(value, []).append((topic, time.monotonic()))
        if value == "always-fails" or (value == "fails-once" and len(deliveries[value]) == 1):
            raise RuntimeError(f"cannot handle {value}")
        handled.append((value, time.monotonic()))

    async with started(registry, listener_settings):
        # Created at start-up, with the main topic's partitions.
        for suffix in ("-retry-500", "-retry-1000", "-dlt"):
            assert len(await read_to_end(bootstrap, f"{topic_name}{suffix}")) == 0
        assert set(registry.containers) == {
            "resilient",
            "resilient-retry-500",
            "resilient-retry-1000",
        }
        for value in ("always-fails", "fails-once", "fine"):
            await produce(bootstrap, topic_name, [value.encode()], key=b"same-key")
        await wait_until(lambda: len(deliveries.get("always-fails", [])) == 3, 30, "3 deliveries")
        letters = await read_records(bootstrap, f"{topic_name}-dlt", 1)
        statuses = {s.id: s for s in await registry.statuses()}
    # The main partition moved on: "fine" (a later record of the same key) was handled before
    # the retried ones. Ordering within the key is given up for retried records.
    assert [v for v, _ in handled] == ["fine", "fails-once"]
    once = deliveries["fails-once"]
    assert [t for t, _ in once] == [topic_name, f"{topic_name}-retry-500"]
    assert once[1][1] - once[0][1] >= 0.5
    doomed = deliveries["always-fails"]
    assert [t for t, _ in doomed] == [
        topic_name,
        f"{topic_name}-retry-500",
        f"{topic_name}-retry-1000",
    ]
    assert doomed[1][1] - doomed[0][1] >= 0.5 and doomed[2][1] - doomed[1][1] >= 1.0
    (letter,) = letters
    headers = dict(letter.headers)
    assert letter.value == b"always-fails" and letter.key == b"same-key"
    assert headers[h.DLT_ORIGINAL_TOPIC] == topic_name.encode()
    assert headers[h.DLT_ORIGINAL_OFFSET] == struct.pack(">q", 0)
    assert not any(name.startswith(h.RETRY_PREFIX) for name in headers)
    assert statuses["resilient"].containers[0].metrics.retries == 2
    assert statuses["resilient-retry-500"].containers[0].metrics.retries == 1
    assert statuses["resilient-retry-1000"].containers[0].metrics.dead_lettered == 1
    assert json.dumps([s.model_dump() for s in statuses.values()])  # visible in the registry


async def test_status_counters_and_prometheus_count_the_same_outcomes(
    listener_settings: KafkaSettings, topic_name: str
) -> None:
    bootstrap = listener_settings.bootstrap_servers
    await create_topic(bootstrap, topic_name)
    registry = ListenerRegistry()
    prometheus = CollectorRegistry()
    deliveries: dict[str, int] = {}

    @kafka_listener(
        topic_name,
        group_id=f"g-{topic_name}",
        retry_topics=RetryTopics(attempts=2, back_off=FixedBackOff(0.2, None)),
        registry=registry,
    )
    async def counted(value: str) -> None:
        deliveries[value] = deliveries.get(value, 0) + 1
        if value == "always-fails" or deliveries[value] == 1:
            raise RuntimeError(value)

    await registry.start(listener_settings, metrics_registry=prometheus)
    try:
        await produce(bootstrap, topic_name, [b"always-fails", b"fails-once"])
        await wait_until(
            lambda: deliveries == {"always-fails": 2, "fails-once": 2}, 30, "every delivery"
        )

        async def dead_lettered() -> bool:
            return len(await read_to_end(bootstrap, f"{topic_name}-dlt")) == 1

        await wait_until(dead_lettered, 30, "the dead letter")
        statuses = [c for s in await registry.statuses() for c in s.containers]
    finally:
        await registry.stop()
    main = next(c for c in statuses if c.client_id.endswith("counted-0"))
    # Forwarded to the retry topic: retried (delivered again there), not recovered.
    assert (main.metrics.records_failed, main.metrics.retries, main.metrics.recovered) == (2, 2, 0)
    totals = {
        "handled": sum(c.metrics.records_handled for c in statuses),
        "failed": sum(c.metrics.records_failed for c in statuses),
        "retried": sum(c.metrics.retries for c in statuses),
        "recovered": sum(c.metrics.recovered for c in statuses),
        "dead_lettered": sum(c.metrics.dead_lettered for c in statuses),
    }
    assert totals == {"handled": 1, "failed": 3, "retried": 2, "recovered": 1, "dead_lettered": 1}
    exposed = {
        outcome: prometheus.get_sample_value(
            "kafka_listener_records_total", {"listener": "counted", "outcome": outcome}
        )
        for outcome in totals
    }
    assert exposed == {outcome: float(count) for outcome, count in totals.items()}
