"""KafkaTemplate against the real broker: results, partitioning, acks, hooks, transactions."""

from __future__ import annotations

import asyncio
import gc
import logging
import random
import string
import time
from collections import Counter
from itertools import groupby

import pytest
from prometheus_client import REGISTRY, CollectorRegistry
from pydantic import BaseModel

from event_contract.events import EventDto
from kafka_kit._internal.cancellation import within
from kafka_kit.errors import KafkaSendError, TransactionStateError
from kafka_kit.local_kafka.tools import CONSOLE_PRODUCER, run_kafka_tool
from kafka_kit.partitioners import PriorityPartitioner
from kafka_kit.settings import KafkaSettings, ProducerSettings
from kafka_kit.template import (
    KafkaTemplate,
    LoggingProducerListener,
    ProducerRecord,
    SendResult,
)
from kafka_kit.testing import read_records, wait_until
from tests.kafka_helpers import create_topic, read_to_end


def _settings(bootstrap: str, **producer: object) -> KafkaSettings:
    return KafkaSettings(bootstrap_servers=bootstrap, producer=ProducerSettings(**producer))


class Reading(BaseModel):
    sensor: str
    value: float


async def test_send_returns_where_the_record_landed(
    kafka_bootstrap_servers: str, topic_name: str
) -> None:
    await create_topic(kafka_bootstrap_servers, topic_name, partitions=2)
    async with KafkaTemplate(_settings(kafka_bootstrap_servers)) as template:
        first = await template.send(topic_name, Reading(sensor="a", value=1.5), partition=1)
        second = await template.send(
            topic_name,
            b"\x00raw",
            key="k",
            partition=1,
            headers={"trace-id": "t-1"},
            timestamp=1_700_000_000_000,
        )
        third = await template.send(topic_name, "text", partition=0)
    assert isinstance(first, SendResult)
    assert (first.topic, first.partition, first.offset) == (topic_name, 1, 0)
    assert (second.partition, second.offset, third.partition, third.offset) == (1, 1, 0, 0)
    assert second.timestamp == 1_700_000_000_000
    assert second.record == ProducerRecord(
        topic_name, b"\x00raw", b"k", 1, (("trace-id", b"t-1"),), 1_700_000_000_000
    )
    records = {
        (r.partition, r.offset): r
        for r in await read_records(kafka_bootstrap_servers, topic_name, 3)
    }
    assert Reading.model_validate_json(records[(1, 0)].value) == Reading(sensor="a", value=1.5)
    assert records[(1, 1)].value == b"\x00raw"
    assert records[(1, 1)].key == b"k"
    assert records[(1, 1)].headers == (("trace-id", b"t-1"),)
    assert records[(1, 1)].timestamp == 1_700_000_000_000
    assert records[(0, 0)].value == b"text"


async def test_send_default_uses_the_configured_topic(
    kafka_bootstrap_servers: str, topic_name: str
) -> None:
    await create_topic(kafka_bootstrap_servers, topic_name)
    async with KafkaTemplate(
        _settings(kafka_bootstrap_servers, default_topic=topic_name)
    ) as template:
        result = await template.send_default({"n": 1})
    assert (result.topic, result.offset) == (topic_name, 0)
    async with KafkaTemplate(_settings(kafka_bootstrap_servers)) as template:
        with pytest.raises(ValueError, match="no default topic"):
            await template.send_default({"n": 1})


@pytest.mark.parametrize("acks", ["0", "1", "all"])
async def test_each_acks_setting(kafka_bootstrap_servers: str, topic_name: str, acks: str) -> None:
    await create_topic(kafka_bootstrap_servers, topic_name)
    async with KafkaTemplate(_settings(kafka_bootstrap_servers, acks=acks)) as template:
        results = [await template.send(topic_name, f"v{i}") for i in range(3)]
    assert {r.partition for r in results} == {0}
    if acks == "0":
        # The broker never answers: the partition is the producer's choice, the offset unknown.
        assert [r.offset for r in results] == [-1, -1, -1]
    else:
        assert [r.offset for r in results] == [0, 1, 2]
    assert sorted(r.value for r in await read_records(kafka_bootstrap_servers, topic_name, 3)) == [
        b"v0",
        b"v1",
        b"v2",
    ]


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
async def test_compression_codecs(
    kafka_bootstrap_servers: str, topic_name: str, codec: str
) -> None:
    await create_topic(kafka_bootstrap_servers, topic_name)
    value = ("compressible " * 200).encode()
    async with KafkaTemplate(
        _settings(kafka_bootstrap_servers, compression_type=codec)
    ) as template:
        await asyncio.gather(*(template.send(topic_name, value) for _ in range(20)))
    records = await read_records(kafka_bootstrap_servers, topic_name, 20)
    assert all(r.value == value for r in records)


def _keys(count: int) -> list[str]:
    rng = random.Random(2024)
    alphabet = string.ascii_letters + string.digits + "-_.äöüßé€中文"
    keys = {f"customer-{n}" for n in range(count // 2)}
    while len(keys) < count:
        keys.add("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40))))
    return sorted(keys)


async def test_keys_land_where_the_java_client_puts_them(
    kafka_bootstrap_servers: str, topic_name: str
) -> None:
    java_topic, python_topic = f"{topic_name}-java", f"{topic_name}-python"
    for topic in (java_topic, python_topic):
        await create_topic(kafka_bootstrap_servers, topic, partitions=12)
    keys = _keys(1200)
    # Kafka's own Java producer, fed "key<TAB>value" lines.
    await asyncio.to_thread(
        run_kafka_tool,
        CONSOLE_PRODUCER,
        "--bootstrap-server",
        kafka_bootstrap_servers,
        "--topic",
        java_topic,
        "--property",
        "parse.key=true",
        "--property",
        "key.separator=\t",
        input_text="".join(f"{key}\tvalue-{i}\n" for i, key in enumerate(keys)),
    )
    java = {
        r.key.decode(): r.partition
        for r in await read_records(kafka_bootstrap_servers, java_topic, len(keys))
    }
    async with KafkaTemplate(_settings(kafka_bootstrap_servers)) as template:
        sent = await asyncio.gather(*(template.send(python_topic, b"v", key=key) for key in keys))
    python = {key: result.partition for key, result in zip(keys, sent, strict=True)}
    assert len(java) == len(keys) == 1200
    assert python == java
    assert len(set(java.values())) == 12


async def test_keyless_records_are_sent_in_sticky_batches(
    kafka_bootstrap_servers: str, topic_name: str
) -> None:
    await create_topic(kafka_bootstrap_servers, topic_name, partitions=6)
    settings = _settings(kafka_bootstrap_servers, max_batch_size=4000, linger_ms=20)
    value = b"x" * 200
    async with KafkaTemplate(settings) as template:
        # Concurrent, as a busy service sends; partitions are chosen in call order.
        sent = [await template.send(topic_name, value)]
        sent += await asyncio.gather(*(template.send(topic_name, value) for _ in range(1199)))
    chosen = [result.partition for result in sent]
    runs = [len(list(group)) for _, group in groupby(chosen)]
    # 200-byte values in 4000-byte batches: twenty records per partition, then the next one.
    assert runs == [20] * 60
    counts = Counter(chosen)
    assert len(counts) == 6
    assert all(60 <= n <= 400 for n in counts.values()), counts
    # Each run went to the broker as one batch: offsets inside a run are consecutive.
    by_partition: dict[int, list[int]] = {}
    for result in sent:
        by_partition.setdefault(result.partition, []).append(result.offset)
    assert all(offsets == list(range(len(offsets))) for offsets in by_partition.values())


async def test_custom_partitioners_per_template_and_from_settings(
    kafka_bootstrap_servers: str, topic_name: str
) -> None:
    await create_topic(kafka_bootstrap_servers, topic_name, partitions=4)

    def last_partition(record, value, partitions, available):
        return partitions[-1] if value == "to-the-end" else None

    async with KafkaTemplate(
        _settings(kafka_bootstrap_servers), partitioner=last_partition
    ) as template:
        assert (await template.send(topic_name, "to-the-end")).partition == 3
        # None: the default partitioner decides (murmur2 for a key).
        keyed = await template.send(topic_name, "other", key="customer-1")
    async with KafkaTemplate(_settings(kafka_bootstrap_servers)) as plain:
        assert (
            await plain.send(topic_name, "other", key="customer-1")
        ).partition == keyed.partition

    by_settings = _settings(
        kafka_bootstrap_servers, partitioner="kafka_kit.partitioners:PriorityPartitioner"
    )
    async with KafkaTemplate(by_settings) as template:
        assert isinstance(template.partitioner, PriorityPartitioner)
        urgent = [
            await template.send(
                topic_name, EventDto(type="t", source="s", payload={"priority": "high"})
            )
            for _ in range(20)
        ]
        normal = [
            await template.send(topic_name, EventDto(type="t", source="s")) for _ in range(40)
        ]
    assert {r.partition for r in urgent} == {0}
    assert {r.partition for r in normal} <= {1, 2, 3}
    assert len({r.partition for r in normal}) > 1


async def test_a_partitioner_choosing_a_missing_partition_fails_the_send(
    kafka_bootstrap_servers: str, topic_name: str
) -> None:
    await create_topic(kafka_bootstrap_servers, topic_name, partitions=2)
    template = KafkaTemplate(_settings(kafka_bootstrap_servers), partitioner=lambda *_: 7)
    async with template:
        with pytest.raises(KafkaSendError, match="partition 7") as raised:
            await template.send(topic_name, "v")
    assert raised.value.record.topic == topic_name
    assert isinstance(raised.value.cause, ValueError)


class RecordingListener:
    def __init__(self) -> None:
        self.successes: list[tuple[ProducerRecord, SendResult]] = []
        self.errors: list[tuple[ProducerRecord, BaseException]] = []

    def on_success(self, record: ProducerRecord, result: SendResult) -> None:
        self.successes.append((record, result))

    def on_error(self, record: ProducerRecord, exc: BaseException) -> None:
        self.errors.append((record, exc))


async def test_producer_listener_hooks_and_the_error_carries_the_record(
    kafka_bootstrap_servers: str, topic_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    await create_topic(
        kafka_bootstrap_servers, topic_name, partitions=1, **{"max.message.bytes": "2000"}
    )
    listener = RecordingListener()
    async with KafkaTemplate(
        _settings(kafka_bootstrap_servers), producer_listener=listener
    ) as template:
        ok = await template.send(topic_name, "small", key="k")
        with pytest.raises(KafkaSendError) as raised:
            await template.send(topic_name, b"x" * 5000, key="big")
    assert listener.successes == [(ok.record, ok)]
    assert [(r.key, type(e).__name__) for r, e in listener.errors] == [
        (b"big", "MessageSizeTooLargeError")
    ]
    assert raised.value.record.key == b"big"
    assert raised.value.record.value == b"x" * 5000
    assert type(raised.value.cause).__name__ == "MessageSizeTooLargeError"

    caplog.set_level(logging.ERROR, logger="kafka_kit.template")
    async with KafkaTemplate(
        _settings(kafka_bootstrap_servers)
    ) as template:  # the default listener
        with pytest.raises(KafkaSendError):
            await template.send(topic_name, b"x" * 5000, key="big")
    assert any("send failed" in m and topic_name in m for m in caplog.messages)


async def test_transaction_commits_or_aborts(kafka_bootstrap_servers: str, topic_name: str) -> None:
    await create_topic(kafka_bootstrap_servers, topic_name)
    template = KafkaTemplate(
        _settings(kafka_bootstrap_servers), transactional_id=f"tx-{topic_name}"
    )
    async with template:
        async with template.transaction():
            await template.send(topic_name, "committed-1")
            await template.send(topic_name, "committed-2")
        with pytest.raises(RuntimeError, match="business rule"):
            async with template.transaction():
                await template.send(topic_name, "aborted")
                raise RuntimeError("business rule says no")
        with pytest.raises(KafkaSendError) as outside:
            await template.send(topic_name, "outside")
        assert isinstance(outside.value.cause, TransactionStateError)
        async with template.transaction():
            with pytest.raises(TransactionStateError, match="already open"):
                async with template.transaction():
                    pass
            await template.send(topic_name, "committed-3")
    committed = await read_records(
        kafka_bootstrap_servers, topic_name, 3, isolation_level="read_committed"
    )
    assert [r.value for r in committed] == [b"committed-1", b"committed-2", b"committed-3"]
    everything = await read_records(
        kafka_bootstrap_servers, topic_name, 4, isolation_level="read_uncommitted"
    )
    assert b"aborted" in [r.value for r in everything]


async def test_a_non_transactional_template_refuses_transactions(
    kafka_bootstrap_servers: str,
) -> None:
    async with KafkaTemplate(_settings(kafka_bootstrap_servers)) as template:
        with pytest.raises(TransactionStateError, match="no transactional id"):
            async with template.transaction():
                pass


async def test_lifecycle_flush_and_send_before_start(
    kafka_bootstrap_servers: str, topic_name: str
) -> None:
    await create_topic(kafka_bootstrap_servers, topic_name)
    template = KafkaTemplate(_settings(kafka_bootstrap_servers, linger_ms=1000))
    with pytest.raises(KafkaSendError, match="not started"):
        await template.send(topic_name, "v")
    await template.start()
    assert template.is_running
    pending = asyncio.ensure_future(template.send(topic_name, "lingering"))
    accumulator = template._producer._message_accumulator  # type: ignore[union-attr]
    await wait_until(lambda: any(accumulator._batches.values()), 5, "the record buffered")
    await template.flush()  # does not wait for linger.ms: sends what is buffered now
    assert (await within(pending, 1)).offset == 0
    await template.stop()
    await template.stop()  # idempotent
    assert not template.is_running


async def test_send_metrics_survive_the_template(
    kafka_bootstrap_servers: str, topic_name: str
) -> None:
    await create_topic(kafka_bootstrap_servers, topic_name)
    template = KafkaTemplate(_settings(kafka_bootstrap_servers))
    async with template:
        await template.send(topic_name, b"a")
        results = await template.send_records([(template.build_record(topic_name, b"b"), None)] * 3)
    assert all(isinstance(r, SendResult) for r in results)
    del template
    gc.collect()  # the template's batched metrics are gone: stop() must have added them
    sent = REGISTRY.get_sample_value(
        "kafka_template_sends_total", {"topic": topic_name, "result": "ok"}
    )
    timed = REGISTRY.get_sample_value("kafka_template_send_seconds_count", {"topic": topic_name})
    assert (sent, timed) == (4.0, 4.0)


async def test_a_bad_key_or_value_is_a_send_error_and_nothing_is_written(
    kafka_bootstrap_servers: str, topic_name: str
) -> None:
    await create_topic(kafka_bootstrap_servers, topic_name)

    class Thing:
        pass

    async with KafkaTemplate(_settings(kafka_bootstrap_servers)) as template:
        with pytest.raises(KafkaSendError, match="key must be str or bytes") as bad_key:
            await template.send(topic_name, b"v", key=42)  # type: ignore[arg-type]
        with pytest.raises(KafkaSendError, match="not JSON serializable") as bad_value:
            await template.send(topic_name, Thing())
        written = await template.send(topic_name, b"after")
    assert isinstance(bad_key.value.cause, TypeError)
    assert isinstance(bad_value.value.cause, TypeError)
    assert written.offset == 0  # neither failed send wrote anything


async def test_a_subclass_of_the_logging_listener_hears_successes(
    kafka_bootstrap_servers: str, topic_name: str
) -> None:
    await create_topic(kafka_bootstrap_servers, topic_name)

    class Counting(LoggingProducerListener):
        def __init__(self) -> None:
            self.successes = 0

        def on_success(self, record: ProducerRecord, result: SendResult) -> None:
            self.successes += 1

    listener = Counting()
    async with KafkaTemplate(
        _settings(kafka_bootstrap_servers), producer_listener=listener
    ) as template:
        await template.send(topic_name, b"one")
        await template.send_records([(template.build_record(topic_name, b"two"), None)])
    assert listener.successes == 2


async def test_send_metrics_count_every_record_once(
    kafka_bootstrap_servers: str, topic_name: str
) -> None:
    await create_topic(kafka_bootstrap_servers, topic_name)
    registry = CollectorRegistry()
    async with KafkaTemplate(
        _settings(kafka_bootstrap_servers), metrics_registry=registry
    ) as template:
        await template.send(topic_name, b"a")
        await template.send_records(
            [(template.build_record(topic_name, f"b{n}".encode()), None) for n in range(4)]
        )
    labels = {"topic": topic_name, "result": "ok"}
    assert registry.get_sample_value("kafka_template_sends_total", labels) == 5
    # The latency histogram counts the same sends: each record's wait for its acknowledgement.
    count = registry.get_sample_value("kafka_template_send_seconds_count", {"topic": topic_name})
    assert count == 5


async def test_pluggable_key_and_value_serializers(
    kafka_bootstrap_servers: str, topic_name: str
) -> None:
    await create_topic(kafka_bootstrap_servers, topic_name)

    def upper_key(key: object) -> bytes | None:
        return None if key is None else str(key).upper().encode()

    def tagged(value: object) -> bytes:
        if not isinstance(value, tuple):
            raise TypeError(f"only tuples, not {type(value).__name__}")
        return "|".join(map(str, value)).encode()

    async with KafkaTemplate(
        _settings(kafka_bootstrap_servers), key_serializer=upper_key, value_serializer=tagged
    ) as template:
        await template.send(topic_name, (7, "book"), key="order-7")
        with pytest.raises(KafkaSendError, match="only tuples"):
            await template.send(topic_name, {"not": "a tuple"})
    (record,) = await read_records(kafka_bootstrap_servers, topic_name, 1)
    assert (record.key, record.value) == (b"ORDER-7", b"7|book")


def _refused_timestamp() -> int:
    """Ten hours ahead: past every broker's default ``message.timestamp.after.max.ms`` (1 h)."""
    return int(time.time() * 1000) + 10 * 3600 * 1000


async def test_a_record_the_broker_refuses_does_not_break_later_sends(
    kafka_bootstrap_servers: str, topic_name: str
) -> None:
    # aiokafka's idempotent producer gave the refused batch a sequence number the broker never
    # stored: every later send to the partition failed with OutOfOrderSequenceNumber, forever.
    await create_topic(kafka_bootstrap_servers, topic_name, partitions=1)
    settings = KafkaSettings(bootstrap_servers=kafka_bootstrap_servers)
    async with KafkaTemplate(settings) as template:
        await template.send(topic_name, b"before")
        with pytest.raises(KafkaSendError) as refused:
            await template.send(topic_name, b"refused", timestamp=_refused_timestamp())
        assert type(refused.value.cause).__name__ == "InvalidTimestampError"
        after = [await template.send(topic_name, f"after-{n}".encode()) for n in range(5)]
        assert [r.offset for r in after] == [1, 2, 3, 4, 5]
        batch = await template.send_records(
            [(template.build_record(topic_name, f"batch-{n}".encode()), None) for n in range(3)]
        )
        assert not [r for r in batch if isinstance(r, KafkaSendError)]
        assert template.producer_replacements == 1
    values = [r.value for r in await read_to_end(kafka_bootstrap_servers, topic_name)]
    assert values == [b"before", *(f"after-{n}".encode() for n in range(5)),
                      *(f"batch-{n}".encode() for n in range(3))]  # fmt: skip


async def test_a_transaction_after_a_refused_record_commits(
    kafka_bootstrap_servers: str, topic_name: str
) -> None:
    await create_topic(kafka_bootstrap_servers, topic_name, partitions=1)
    settings = KafkaSettings(bootstrap_servers=kafka_bootstrap_servers)
    async with KafkaTemplate(settings, transactional_id=f"tx-{topic_name}") as template:
        async with template.transaction():
            await template.send(topic_name, b"first")
        with pytest.raises(KafkaSendError):
            async with template.transaction():
                await template.send(topic_name, b"refused", timestamp=_refused_timestamp())
        for n in range(2):
            async with template.transaction():
                await template.send(topic_name, f"then-{n}".encode())
        assert template.producer_replacements == 1
    committed = await read_to_end(
        kafka_bootstrap_servers, topic_name, isolation_level="read_committed"
    )
    assert [r.value for r in committed] == [b"first", b"then-0", b"then-1"]


async def test_sends_queued_behind_a_refused_record_are_sent_again_once(
    kafka_bootstrap_servers: str, topic_name: str
) -> None:
    # One batch per record: those queued behind the refused one reach the broker with sequence
    # numbers it does not expect (OutOfOrderSequenceNumber, not written) — sent again, once.
    await create_topic(kafka_bootstrap_servers, topic_name, partitions=1)
    settings = KafkaSettings(
        bootstrap_servers=kafka_bootstrap_servers,
        producer=ProducerSettings(max_batch_size=64, linger_ms=0),
    )
    async with KafkaTemplate(settings) as template:
        await template.send(topic_name, b"first")
        refused = template.send(topic_name, b"refused", timestamp=_refused_timestamp())
        queued = [template.send(topic_name, f"queued-{n:02}".encode()) for n in range(20)]
        outcomes = await asyncio.gather(refused, *queued, return_exceptions=True)
        assert isinstance(outcomes[0], KafkaSendError)
        assert not [o for o in outcomes[1:] if isinstance(o, BaseException)], outcomes
        assert template.producer_replacements == 1
    values = [r.value for r in await read_to_end(kafka_bootstrap_servers, topic_name)]
    assert sorted(values) == sorted([b"first", *(f"queued-{n:02}".encode() for n in range(20))])
