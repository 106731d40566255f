"""Scenario 6 — stream processing: the example topology beside a plain listener container."""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid

from bench.consumer import container, fill
from bench.harness import Options, Report, interleaved
from consumer_service.event_stats import EventStatsSettings, build_event_stats
from event_contract.events import EventsTopicSettings
from kafka_kit import KafkaSettings
from kafka_kit.streams import StreamsApplication, StreamsSettings

SCENARIO = "6 streams"
PARTITIONS = 6


async def topology(bootstrap: str, topic: str, count: int, guarantee: str) -> float:
    """The consumer service's event-stats topology (parse, dedupe, per-key, per-type windows)."""
    with tempfile.TemporaryDirectory(prefix="bench-streams-") as state_dir:
        streams = StreamsApplication(
            StreamsSettings(
                application_id=f"bench-{uuid.uuid4().hex[:8]}",
                processing_guarantee=guarantee,  # type: ignore[arg-type]
                state_dir=state_dir,
            ),
            KafkaSettings(bootstrap_servers=bootstrap),
        )
        build_event_stats(
            streams,
            EventsTopicSettings(topic=topic, partitions=PARTITIONS),
            EventStatsSettings(),
        )
        first = last = 0.0
        async with streams:
            # From the first record processed to the last (group joins are not throughput).
            async with asyncio.timeout(600):
                while (done := streams.records_processed[topic]) < count:
                    if done and not first:
                        first = time.perf_counter()
                    await asyncio.sleep(0.01)
                last = time.perf_counter()
    return count / (last - first)


async def run(report: Report, options: Options) -> None:
    """Fill a topic once; each variant reads all of it with a fresh group, interleaved."""
    bootstrap, count, repeats = options.bootstrap, options.events, options.repeats
    topic = await fill(bootstrap, count, PARTITIONS)
    variants = {
        "listener container": lambda: container(bootstrap, topic, count),
        "topology, exactly-once": lambda: topology(bootstrap, topic, count, "exactly-once"),
        "topology, at-least-once": lambda: topology(bootstrap, topic, count, "at-least-once"),
    }
    await interleaved(
        repeats,
        variants,
        lambda name, rate: report.measurement(SCENARIO, name, "records/s").runs.append(rate),
    )
    report.ratio(SCENARIO, "topology, exactly-once", "listener container")
    report.ratio(SCENARIO, "topology, at-least-once", "listener container")
    report.ratio(SCENARIO, "topology, exactly-once", "topology, at-least-once")
    report.notes.append(
        f"{SCENARIO}: {count} events of 1 KB in {PARTITIONS} partitions. The listener parses "
        "each EventDto and does nothing else; the topology parses, dedupes by id under the "
        "key and again under the type (two state writes per event), counts per key (a state "
        "write and an output record) and per type in 1-minute windows (a repartition record, "
        "a window-store write and an output record); exactly-once commits a transaction every "
        "second. Timed from the first input record processed to the last."
    )
