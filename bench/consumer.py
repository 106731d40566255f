"""Scenario 2 — consumer throughput: listener container vs raw getmany vs FastStream vs Java."""

from __future__ import annotations

import asyncio
import re
import time
import uuid

from aiokafka import AIOKafkaConsumer

from bench.harness import Options, Report, interleaved, sample_event
from bench.producer import fresh_topic, producer_settings
from event_contract.events import EventDto
from kafka_kit import KafkaSettings, KafkaTemplate, ListenerRegistry, kafka_listener
from kafka_kit._internal.cancellation import within
from kafka_kit.local_kafka.tools import CONSUMER_PERFORMANCE, run_kafka_tool
from kafka_kit.settings import ConsumerSettings

SCENARIO = "2 consumer"
MAX_POLL = 500


async def fill(bootstrap: str, count: int, partitions: int = 6) -> str:
    """A topic holding ``count`` 1 KB events."""
    topic = await fresh_topic(bootstrap, partitions)
    await fill_topic(bootstrap, topic, count)
    return topic


async def fill_topic(bootstrap: str, topic: str, count: int) -> None:
    """Write ``count`` 1 KB events (each a new id) to ``topic``."""
    events = [sample_event(n) for n in range(count)]
    async with KafkaTemplate(producer_settings(bootstrap)) as template:
        for start in range(0, count, 1000):
            chunk = events[start : start + 1000]
            await template.send_records(
                [(template.build_record(topic, e, key=e.key), e) for e in chunk]
            )


class Clock:
    """From the first record handled to the last (group joins are not throughput)."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.seen = 0
        self.first = 0.0
        self.done = asyncio.Event()

    def tick(self, n: int = 1) -> None:
        if self.seen == 0:
            self.first = time.perf_counter()
        self.seen += n
        if self.seen >= self.count:
            self.last = time.perf_counter()
            self.done.set()

    @property
    def rate(self) -> float:
        return self.count / (self.last - self.first)


async def container(bootstrap: str, topic: str, count: int, concurrency: int = 1) -> float:
    """A ``@kafka_listener`` handler that parses each ``EventDto`` and does nothing else."""
    registry = ListenerRegistry()
    clock = Clock(count)

    @kafka_listener(
        topic,
        group_id=f"bench-{uuid.uuid4().hex[:8]}",
        concurrency=concurrency,
        max_poll_records=MAX_POLL,
        registry=registry,
    )
    async def noop(event: EventDto) -> None:
        clock.tick()

    return await timed(registry, bootstrap, clock)


async def timed(registry: ListenerRegistry, bootstrap: str, clock: Clock) -> float:
    """Run ``registry``'s listeners until ``clock`` saw every record; their rate."""
    settings = KafkaSettings(
        bootstrap_servers=bootstrap, consumer=ConsumerSettings(max_poll_records=MAX_POLL)
    )
    await registry.start(settings)
    try:
        await within(clock.done.wait(), 900)
    finally:
        await registry.stop()
    return clock.rate


async def raw_getmany(bootstrap: str, topic: str, count: int) -> float:
    """``getmany`` → parse each ``EventDto`` → ``commit()`` per batch, by hand."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"bench-{uuid.uuid4().hex[:8]}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=MAX_POLL,
        **KafkaSettings(bootstrap_servers=bootstrap).security_config(),
    )
    clock = Clock(count)
    await consumer.start()
    try:
        while not clock.done.is_set():
            batch = await consumer.getmany(timeout_ms=1000, max_records=MAX_POLL)
            for records in batch.values():
                for record in records:
                    EventDto.model_validate_json(record.value)
                    clock.tick()
            if batch:
                await consumer.commit()
    finally:
        await consumer.stop()
    return clock.rate


async def faststream_subscriber(bootstrap: str, topic: str, count: int) -> float:
    """A FastStream subscriber taking the ``EventDto``."""
    from faststream.kafka import KafkaBroker

    broker = KafkaBroker(bootstrap, logger=None)
    clock = Clock(count)

    @broker.subscriber(
        topic,
        group_id=f"bench-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        max_records=MAX_POLL,
    )
    async def handle(event: EventDto) -> None:
        clock.tick()

    await broker.start()
    try:
        await within(clock.done.wait(), 600)
    finally:
        await broker.stop()
    return clock.rate


async def java_consumer_performance(bootstrap: str, topic: str, count: int) -> float:
    """Kafka's own ``ConsumerPerformance`` (fetch rate, without its group join)."""
    done = await asyncio.to_thread(
        run_kafka_tool,
        CONSUMER_PERFORMANCE,
        "--bootstrap-server",
        bootstrap,
        "--topic",
        topic,
        "--messages",
        str(count),
        "--group",
        f"bench-{uuid.uuid4().hex[:8]}",
        timeout_s=600,
    )
    header, values = [line for line in done.stdout.splitlines() if line.strip()][-2:]
    fields = dict(zip([h.strip() for h in header.split(",")], values.split(","), strict=False))
    rate = fields.get("fetch.nMsg.sec") or fields.get("nMsg.sec")
    if rate is None or not re.match(r"^\s*[\d.]+\s*$", rate):
        raise RuntimeError(f"unexpected ConsumerPerformance output: {done.stdout[-500:]}")
    return float(rate)


async def run(report: Report, options: Options) -> None:
    """Fill a topic once; every variant reads all of it with a fresh group, interleaved."""
    bootstrap, count, repeats = options.bootstrap, options.events, options.repeats
    topic = await fill(bootstrap, count)
    variants = {
        "listener container": lambda: container(bootstrap, topic, count),
        "raw getmany loop": lambda: raw_getmany(bootstrap, topic, count),
        "FastStream subscriber": lambda: faststream_subscriber(bootstrap, topic, count),
        "Java ConsumerPerformance": lambda: java_consumer_performance(bootstrap, topic, count),
    }
    await interleaved(
        repeats,
        variants,
        lambda name, rate: report.measurement(SCENARIO, name, "records/s").runs.append(rate),
    )
    report.ratio(SCENARIO, "listener container", "raw getmany loop", "≥ 0.85")
    report.ratio(SCENARIO, "listener container", "FastStream subscriber", "> 1")
    report.ratio(SCENARIO, "raw getmany loop", "Java ConsumerPerformance", "(the client's limit)")
    report.notes.append(
        f"{SCENARIO}: {count} events of 1 KB in 6 partitions, read by a fresh group each run; "
        f"Python variants parse every EventDto; BATCH commits; up to {MAX_POLL} per poll; timed "
        "from the first record to the last."
    )
