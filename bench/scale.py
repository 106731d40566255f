"""Scenario 5 — cost as work grows: partitions, consumers per group, memory after many events."""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from bench.consumer import container, fill
from bench.harness import Options, Report, sample_event
from bench.processes import rss_mb, uvicorn
from bench.producer import template_send_records

SCENARIO = "5 scale"


async def _rss_after(report: Report, bootstrap: str, events: int) -> None:
    store = Path(f"/dev/shm/bench-{uuid.uuid4().hex[:8]}.db")
    # The stream state of this run only: never the user's data folder.
    with tempfile.TemporaryDirectory(prefix="bench-rss-state-") as state:
        try:
            await _measure_rss(report, bootstrap, events, store, Path(state))
        finally:
            for path in store.parent.glob(f"{store.name}*"):  # the file and its -wal, -shm
                path.unlink()


async def _measure_rss(
    report: Report, bootstrap: str, events: int, store: Path, state: Path
) -> None:
    topic = f"bench-rss-{uuid.uuid4().hex[:8]}"
    env = {
        "KAFKA_STREAMS_STATE_DIR": str(state),
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "EVENTS_TOPIC": topic,
        "EVENT_LOG_GROUP_ID": f"bench-{uuid.uuid4().hex[:8]}",
        "EVENT_STORE_URL": f"sqlite:///{store}",
        "PRODUCER_MAX_BODY_BYTES": str(4 * 1024 * 1024),
        "PRODUCER_MAX_BATCH_EVENTS": "1000",
        "LAG_OFFSET_REFRESH_S": "30",
    }
    body = json.dumps([sample_event().model_dump(mode="json", exclude={"id", "occurred_at"})] * 100)
    with (
        uvicorn("producer_service.main:app", env) as (producer, producer_process),
        uvicorn("consumer_service.main:app", env) as (consumer, consumer_process),
    ):
        started = time.perf_counter()
        async with httpx.AsyncClient(timeout=60) as client:
            queue: asyncio.Queue[int] = asyncio.Queue()
            for n in range(events // 100):
                queue.put_nowait(n)

            async def post() -> None:
                while not queue.empty():
                    queue.get_nowait()
                    await client.post(
                        f"{producer}/events/batch",
                        content=body,
                        headers={"content-type": "application/json"},
                    )

            await asyncio.gather(*(post() for _ in range(4)))
            posted = time.perf_counter() - started
            while (await client.get(f"{consumer}/events/stats")).json()["stored"] < events:  # noqa: ASYNC110 - another process
                await asyncio.sleep(1)
        stored = time.perf_counter() - started
        for name, process, seconds in (
            ("producer service", producer_process, posted),
            ("consumer service", consumer_process, stored),
        ):
            m = report.measurement(SCENARIO, f"{name} RSS after {events:,} events", "MB")
            m.runs.append(rss_mb(process.pid))
            m.extra["events/s"] = events / seconds


async def run(report: Report, options: Options) -> None:
    """Throughput at 1, 6 and 24 partitions; 1 vs 3 consumers; RSS after many events."""
    bootstrap, count, repeats = options.bootstrap, options.events, options.repeats
    for partitions in (1, 6, 24):
        m = report.measurement(SCENARIO, f"template, {partitions} partitions", "events/s")
        for _ in range(repeats):
            m.runs.append(await template_send_records(bootstrap, count, partitions))
        topic = await fill(bootstrap, count, partitions)
        m = report.measurement(SCENARIO, f"container, {partitions} partitions", "records/s")
        for _ in range(repeats):
            m.runs.append(await container(bootstrap, topic, count))
    topic = await fill(bootstrap, count, 6)
    m = report.measurement(SCENARIO, "container, 6 partitions, 3 consumers", "records/s")
    for _ in range(repeats):
        m.runs.append(await container(bootstrap, topic, count, concurrency=3))
    report.ratio(SCENARIO, "template, 24 partitions", "template, 1 partitions")
    report.ratio(SCENARIO, "container, 6 partitions, 3 consumers", "container, 6 partitions")
    await _rss_after(report, bootstrap, options.rss_events)
    report.notes.append(
        f"{SCENARIO}: {count} events per throughput run; RSS measured after "
        f"{options.rss_events:,} events through both services (POST /events/batch x100, "
        "4 clients; the consumer stores every event in SQLite on /dev/shm and runs its example "
        "stream topology, whose duplicate filter keeps ids for EVENT_STATS_DEDUPE_S of record "
        "time; bench/soak.py measures memory over a long run)."
    )
