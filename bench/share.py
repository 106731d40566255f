"""Scenario — share groups (KIP-932) vs consumer groups on the same topic and members.

Two handler profiles, each on a topic of 2 partitions:

- **client-bound**: the handler parses each ``EventDto`` and returns (what the client and the
  container cost). The kit's share members (1, 2, 4, 8), a consumer group of 2, Kafka's Java
  ``ShareConsumerPerformance`` and confluent-kafka's ``ShareConsumer`` (librdkafka; the measured
  alternative to the native client, run in a venv of its own).
- **work-bound**: the handler waits 2 ms per record (a call to a slow service). A consumer group
  cannot use more than 2 members; a share group of 8 can.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import uuid
from pathlib import Path

from bench.consumer import MAX_POLL, Clock, container, fill, timed
from bench.harness import Options, Report, interleaved
from event_contract.events import EventDto
from kafka_kit import KafkaSettings, ListenerRegistry, kafka_listener
from kafka_kit.local_kafka.artifacts import cache_root
from kafka_kit.local_kafka.tools import run_kafka_tool
from kafka_kit.share import ShareGroupAdmin

SCENARIO = "share groups"
WORK = "share groups, 2 ms of work per record"
SHARE_CONSUMER_PERFORMANCE = "org.apache.kafka.tools.ShareConsumerPerformance"
CONFLUENT = "confluent-kafka==2.16.1"
WORK_S = 0.002


async def share_members(
    bootstrap: str, topic: str, count: int, members: int, work_s: float, *, parse: bool = True
) -> float:
    """The kit's share-group listener with ``members`` members, a fresh group (``parse``:
    each value read as an ``EventDto``; else taken as bytes, as the Java and librdkafka
    variants do)."""
    registry = ListenerRegistry()
    clock = Clock(count)
    declare = kafka_listener(
        topic,
        share_group=f"bench-share-{uuid.uuid4().hex[:8]}",
        concurrency=members,
        max_poll_records=MAX_POLL if work_s == 0 else 10,
        registry=registry,
    )
    if parse:

        @declare
        async def parsed(event: EventDto) -> None:
            if work_s:
                await asyncio.sleep(work_s)
            clock.tick()

    else:

        @declare
        async def raw(value: bytes) -> None:
            clock.tick()

    return await timed(registry, bootstrap, clock)


async def group_members(
    bootstrap: str, topic: str, count: int, members: int, work_s: float
) -> float:
    """A consumer-group listener with ``members`` consumers (at most 2 get partitions)."""
    if work_s == 0:
        return await container(bootstrap, topic, count, concurrency=members)
    registry = ListenerRegistry()
    clock = Clock(count)

    @kafka_listener(
        topic,
        group_id=f"bench-{uuid.uuid4().hex[:8]}",
        concurrency=members,
        max_poll_records=10,
        registry=registry,
    )
    async def slow(event: EventDto) -> None:
        await asyncio.sleep(work_s)
        clock.tick()

    return await timed(registry, bootstrap, clock)


async def _earliest_group(bootstrap: str) -> str:
    group = f"bench-share-{uuid.uuid4().hex[:8]}"
    await ShareGroupAdmin(KafkaSettings(bootstrap_servers=bootstrap)).configure(
        group, {"share.auto.offset.reset": "earliest"}
    )
    return group


async def java_share_performance(bootstrap: str, topic: str, count: int) -> float:
    """Kafka's ``ShareConsumerPerformance``, one share consumer, a fresh group."""
    group = await _earliest_group(bootstrap)
    done = await asyncio.to_thread(
        run_kafka_tool,
        SHARE_CONSUMER_PERFORMANCE,
        "--bootstrap-server", bootstrap, "--topic", topic, "--num-records", str(count),
        "--group", group, "--timeout", "60000",
        timeout_s=900,
    )  # fmt: skip
    header, values = [line for line in done.stdout.splitlines() if line.strip()][-2:]
    fields = dict(zip([h.strip() for h in header.split(",")], values.split(","), strict=False))
    rate = fields.get("nMsg.sec")
    if rate is None or not re.match(r"^\s*[\d.]+\s*$", rate):
        raise RuntimeError(f"unexpected ShareConsumerPerformance output: {done.stdout[-500:]}")
    return float(rate)


def confluent_python() -> Path:
    """A venv with confluent-kafka's ShareConsumer, made once in the cache."""
    venv = cache_root() / "confluent-share-venv"
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    check = subprocess.run(
        [str(python), "-c", "import confluent_kafka; confluent_kafka.ShareConsumer"],
        capture_output=True,
        check=False,
    )
    if check.returncode != 0:
        subprocess.run([str(python), "-m", "pip", "install", "-q", CONFLUENT], check=True)
    return python


async def confluent_share_consumer(bootstrap: str, topic: str, count: int) -> float:
    """confluent-kafka's ``ShareConsumer``, one member, a fresh group (counts, no parsing)."""
    group = await _earliest_group(bootstrap)
    worker = Path(__file__).with_name("share_confluent_worker.py")
    done = await asyncio.to_thread(
        subprocess.run,
        [str(confluent_python()), str(worker), bootstrap, topic, group, str(count)],
        capture_output=True,
        text=True,
        timeout=900,
        check=True,
    )
    return float(json.loads(done.stdout.splitlines()[-1])["rate"])


async def run(report: Report, options: Options) -> None:
    """Fill two topics once; each variant reads all of one with a fresh group, interleaved."""
    bootstrap, count, repeats = options.bootstrap, options.events, options.repeats
    topic = await fill(bootstrap, count, partitions=2)
    variants = {
        f"share group, {n} member{'s' if n > 1 else ''}": (
            lambda n=n: share_members(bootstrap, topic, count, n, 0.0)
        )
        for n in (1, 2, 4, 8)
    }
    variants["share group, 1 member, bytes"] = lambda: share_members(
        bootstrap, topic, count, 1, 0.0, parse=False
    )
    variants["consumer group, 2 members"] = lambda: group_members(bootstrap, topic, count, 2, 0.0)
    variants["Java ShareConsumerPerformance"] = lambda: java_share_performance(
        bootstrap, topic, count
    )
    variants["confluent-kafka ShareConsumer"] = lambda: confluent_share_consumer(
        bootstrap, topic, count
    )
    await interleaved(
        repeats,
        variants,
        lambda name, rate: report.measurement(SCENARIO, name, "records/s").runs.append(rate),
    )
    report.ratio(SCENARIO, "share group, 2 members", "consumer group, 2 members", "(same members)")
    bytes_only = "share group, 1 member, bytes"
    report.ratio(SCENARIO, bytes_only, "confluent-kafka ShareConsumer", "(the client)")
    report.ratio(SCENARIO, bytes_only, "Java ShareConsumerPerformance", "(the limit)")
    report.ratio(SCENARIO, "share group, 8 members", "share group, 2 members", "(past partitions)")

    work_count = max(1000, min(count // 10, 5000))
    work_topic = await fill(bootstrap, work_count, partitions=2)
    work = {
        f"share group, {n} members": (
            lambda n=n: share_members(bootstrap, work_topic, work_count, n, WORK_S)
        )
        for n in (2, 4, 8)
    }
    work["consumer group, 8 members"] = lambda: group_members(
        bootstrap, work_topic, work_count, 8, WORK_S
    )
    await interleaved(
        repeats,
        work,
        lambda name, rate: report.measurement(WORK, name, "records/s").runs.append(rate),
    )
    report.ratio(WORK, "share group, 8 members", "consumer group, 8 members", "≈ 4 (8 vs 2 busy)")
    report.ratio(WORK, "share group, 8 members", "share group, 2 members", "≈ 4")
    report.notes.append(
        f"{SCENARIO}: {count} events of 1 KB in 2 partitions, a fresh group each run, timed from "
        f"the first record to the last; up to {MAX_POLL} records per fetch; the kit's variants "
        "parse every EventDto except 'bytes' (Java's tool and librdkafka only count). "
        f"{WORK}: {work_count} events, 10 records per fetch, the handler sleeps 2 ms per record."
    )
