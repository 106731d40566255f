"""Scenario 1 — producer throughput: KafkaTemplate vs raw aiokafka vs FastStream vs Java."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

from aiokafka import AIOKafkaProducer

from bench.harness import Options, Report, interleaved, sample_event
from event_contract.events import EventDto
from kafka_kit import KafkaAdmin, KafkaSettings, KafkaTemplate, NewTopic
from kafka_kit.local_kafka.tools import PRODUCER_PERFORMANCE, run_kafka_tool
from kafka_kit.settings import ProducerSettings

SCENARIO = "1 producer"
WINDOW = 1000  # records in flight at once, for every Python variant alike
LINGER_MS = 5
BATCH_BYTES = 65536


def producer_settings(bootstrap: str) -> KafkaSettings:
    """acks=all with idempotence, and the same batching for every variant."""
    return KafkaSettings(
        bootstrap_servers=bootstrap,
        producer=ProducerSettings(
            acks="all",
            enable_idempotence=True,
            linger_ms=LINGER_MS,
            max_batch_size=BATCH_BYTES,
            delivery_timeout_ms=120_000,
        ),
    )


async def fresh_topic(bootstrap: str, partitions: int = 6) -> str:
    """A new topic for one run, so runs do not read each other's data."""
    name = f"bench-{uuid.uuid4().hex[:8]}"
    await KafkaAdmin(KafkaSettings(bootstrap_servers=bootstrap)).ensure_topics(
        [NewTopic(name, partitions, 1)]
    )
    return name


async def timed_windows(
    events: list[EventDto], send_window: Callable[[list[EventDto]], Awaitable[object]]
) -> float:
    """Events per second of ``send_window`` over ``events``, WINDOW of them per call."""
    started = time.perf_counter()
    for start in range(0, len(events), WINDOW):
        await send_window(events[start : start + WINDOW])
    return len(events) / (time.perf_counter() - started)


async def template_send(bootstrap: str, count: int, partitions: int = 6) -> float:
    """``await template.send(topic, event, key=…)`` per event, WINDOW of them concurrently."""
    topic = await fresh_topic(bootstrap, partitions)
    events = [sample_event(n) for n in range(count)]
    async with KafkaTemplate(producer_settings(bootstrap)) as template:
        await template.send(topic, events[0], key=events[0].key)  # metadata and connections
        return await timed_windows(
            events,
            lambda chunk: asyncio.gather(*(template.send(topic, e, key=e.key) for e in chunk)),
        )


async def template_send_records(bootstrap: str, count: int, partitions: int = 6) -> float:
    """``await template.send_records([...])``, WINDOW records per call."""
    topic = await fresh_topic(bootstrap, partitions)
    events = [sample_event(n) for n in range(count)]
    async with KafkaTemplate(producer_settings(bootstrap)) as template:
        await template.send(topic, events[0], key=events[0].key)
        return await timed_windows(
            events,
            lambda chunk: template.send_records(
                [(template.build_record(topic, e, key=e.key), e) for e in chunk]
            ),
        )


def raw_producer(bootstrap: str) -> AIOKafkaProducer:
    """aiokafka's producer with the settings every variant shares."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=LINGER_MS,
        max_batch_size=BATCH_BYTES,
        # KAFKA_SECURITY_* as the kit's own clients get them, for a secured cluster.
        **KafkaSettings(bootstrap_servers=bootstrap).security_config(),
    )


@contextlib.asynccontextmanager
async def started_raw_producer(bootstrap: str, topic: str) -> AsyncIterator[AIOKafkaProducer]:
    """A started raw producer that has sent once to ``topic`` (metadata and connections)."""
    producer = raw_producer(bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, sample_event().model_dump_json().encode())
        yield producer
    finally:
        await producer.stop()


async def raw_aiokafka(bootstrap: str, count: int, partitions: int = 6) -> float:
    """``AIOKafkaProducer.send`` + the futures, serializing the same pydantic events."""
    topic = await fresh_topic(bootstrap, partitions)
    events = [sample_event(n) for n in range(count)]
    async with started_raw_producer(bootstrap, topic) as producer:

        async def send_window(chunk: list[EventDto]) -> None:
            futures = [
                await producer.send(topic, e.model_dump_json().encode(), key=e.key.encode())
                for e in chunk
                if e.key is not None
            ]
            await asyncio.gather(*futures)

        return await timed_windows(events, send_window)


async def raw_send_and_wait(bootstrap: str, count: int, partitions: int = 6) -> float:
    """``send_and_wait`` per event, WINDOW tasks at once: raw aiokafka used like ``send``."""
    topic = await fresh_topic(bootstrap, partitions)
    events = [sample_event(n) for n in range(count)]
    async with started_raw_producer(bootstrap, topic) as producer:
        return await timed_windows(
            events,
            lambda chunk: asyncio.gather(
                *(
                    producer.send_and_wait(
                        topic, e.model_dump_json().encode(), key=(e.key or "").encode()
                    )
                    for e in chunk
                )
            ),
        )


async def faststream_publish(bootstrap: str, count: int, partitions: int = 6) -> float:
    """FastStream's ``broker.publish`` (awaits each confirmation), WINDOW concurrently."""
    from faststream.kafka import KafkaBroker

    topic = await fresh_topic(bootstrap, partitions)
    events = [sample_event(n) for n in range(count)]
    broker = KafkaBroker(
        bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=LINGER_MS,
        max_batch_size=BATCH_BYTES,
        logger=None,
    )
    await broker.start()
    try:
        await broker.publish(events[0], topic, key=events[0].key.encode())
        return await timed_windows(
            events,
            lambda chunk: asyncio.gather(
                *(broker.publish(e, topic, key=(e.key or "").encode()) for e in chunk)
            ),
        )
    finally:
        await broker.stop()


async def java_producer_performance(bootstrap: str, count: int, partitions: int = 6) -> float:
    """Kafka's own ``ProducerPerformance``: the Java client, the limit of this machine."""
    topic = await fresh_topic(bootstrap, partitions)
    done = await asyncio.to_thread(
        run_kafka_tool,
        PRODUCER_PERFORMANCE,
        "--topic",
        topic,
        "--num-records",
        str(count),
        "--record-size",
        "1024",
        "--throughput",
        "-1",
        "--producer-props",
        f"bootstrap.servers={bootstrap}",
        "acks=all",
        "enable.idempotence=true",
        f"linger.ms={LINGER_MS}",
        f"batch.size={BATCH_BYTES}",
        timeout_s=600,
    )
    match = re.search(r"records sent, ([\d.]+) records/sec", done.stdout.splitlines()[-1])
    if match is None:
        raise RuntimeError(f"unexpected ProducerPerformance output: {done.stdout[-500:]}")
    return float(match.group(1))


async def run(report: Report, options: Options) -> None:
    """Every variant, interleaved, ``repeats`` times; ratios against raw aiokafka."""
    bootstrap, count, repeats = options.bootstrap, options.events, options.repeats
    size = len(sample_event().model_dump_json())
    variants = {
        "KafkaTemplate.send": lambda: template_send(bootstrap, count),
        "KafkaTemplate.send_records": lambda: template_send_records(bootstrap, count),
        "raw AIOKafkaProducer": lambda: raw_aiokafka(bootstrap, count),
        "raw send_and_wait tasks": lambda: raw_send_and_wait(bootstrap, count),
        "FastStream publish": lambda: faststream_publish(bootstrap, count),
        "Java ProducerPerformance": lambda: java_producer_performance(bootstrap, count),
    }

    def record(name: str, per_second: float) -> None:
        m = report.measurement(SCENARIO, name, "events/s")
        m.runs.append(per_second)
        m.extra["MB/s"] = m.median * size / 1e6

    await interleaved(repeats, variants, record)
    report.ratio(SCENARIO, "KafkaTemplate.send_records", "raw AIOKafkaProducer", "≥ 0.9")
    report.ratio(SCENARIO, "KafkaTemplate.send", "raw send_and_wait tasks", "≥ 0.9")
    report.ratio(SCENARIO, "KafkaTemplate.send", "raw AIOKafkaProducer", "")
    report.ratio(SCENARIO, "KafkaTemplate.send", "FastStream publish", "> 1")
    report.ratio(
        SCENARIO, "raw AIOKafkaProducer", "Java ProducerPerformance", "(the client's limit)"
    )
    report.notes.append(
        f"{SCENARIO}: {count} events of {size} bytes per run, keyed (100 keys), acks=all, "
        f"idempotent, linger {LINGER_MS} ms, batch {BATCH_BYTES} B, {WINDOW} in flight."
    )
