"""Scenario 7 — the consumer service as users run it: events stored per second.

The service (its own uvicorn process, the example listener, the default SQLite store in a file)
against a raw ``getmany`` loop that parses the same JSON and stores nothing, on the same topic, in
the same run; then two instances of the service in one group (each with its own file, as two
hosts would have). CPU per event is the services' processes' own (user + system).

Each instance starts on the empty topic, is assigned its partitions and paused; the topic is then
filled and the listeners resumed: the time from the resume to the last event stored counts, not
group joins (the raw loop is timed from its first record to its last). The last event's time is
the store's own ``stored_at``.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench.consumer import fill_topic, raw_getmany
from bench.harness import Options, Report, interleaved
from bench.processes import cpu_seconds, uvicorn
from bench.producer import fresh_topic

SCENARIO = "7 consumer service"
PARTITIONS = 6


async def _assigned(client: httpx.AsyncClient, bases: list[str]) -> bool:
    owned = 0
    for base in bases:
        status = (await client.get(f"{base}/listeners/event_log")).json()
        owned += sum(len(c["partitions"]) for c in status["containers"])
    return owned == PARTITIONS


async def _inserted(client: httpx.AsyncClient, bases: list[str]) -> int:
    stats = [(await client.get(f"{base}/events/stats")).json() for base in bases]
    return sum(s["inserted"] for s in stats)


async def stored_per_second(bootstrap: str, count: int, instances: int = 1) -> dict[str, float]:
    """Events stored per second by ``instances`` consumer services sharing one group."""
    topic = await fresh_topic(bootstrap, PARTITIONS)
    group = f"bench-{uuid.uuid4().hex[:8]}"
    folder = Path(tempfile.mkdtemp(prefix="bench-store-"))
    with contextlib.ExitStack() as running:
        bases, pids = [], []
        for n in range(instances):
            env = {
                "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
                "EVENTS_TOPIC": topic,
                "EVENTS_PARTITIONS": str(PARTITIONS),
                "EVENT_LOG_GROUP_ID": group,
                "EVENT_STORE_URL": f"sqlite:///{folder}/events-{n}.db",
                # The example stream topology reads the same topic: measured in scenario 6.
                "EVENT_STATS_ENABLED": "false",
            }
            base, process = running.enter_context(uvicorn("consumer_service.main:app", env))
            bases.append(base)
            pids.append(process.pid)
        async with httpx.AsyncClient(timeout=30) as client:
            deadline = time.monotonic() + 60
            while not await _assigned(client, bases):
                if time.monotonic() > deadline:
                    raise RuntimeError("the consumer services were not assigned every partition")
                await asyncio.sleep(0.2)
            for base in bases:
                await client.post(f"{base}/listeners/event_log/pause")
            await fill_topic(bootstrap, topic, count)
            cpu_before = sum(cpu_seconds(pid) for pid in pids)
            started = datetime.now(UTC)
            for base in bases:
                await client.post(f"{base}/listeners/event_log/resume")
            deadline = time.monotonic() + 600
            # Polled slowly (a count over the table costs the service): the time comes from
            # the store, where each batch is stamped when it is written.
            while (stored := await _inserted(client, bases)) < count:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"only {stored} of {count} events stored")
                await asyncio.sleep(0.5)
            cpu = sum(cpu_seconds(pid) for pid in pids) - cpu_before
    took = (_last_stored(folder) - started).total_seconds()
    return {"rate": count / took, "cpu_us_per_event": cpu / count * 1e6}


def _last_stored(folder: Path) -> datetime:
    """When the last batch was written, over every instance's file."""
    stamps = []
    for path in folder.glob("events-*.db"):
        with contextlib.closing(sqlite3.connect(path)) as db:
            stamps.append(db.execute("SELECT max(stored_at) FROM events").fetchone()[0])
    return max(datetime.fromisoformat(stamp) for stamp in stamps)


async def run(report: Report, options: Options) -> None:
    """One service vs the raw loop, interleaved; then one vs two instances."""
    bootstrap, count, repeats = options.bootstrap, options.events, options.repeats
    raw_topic = await fresh_topic(bootstrap, PARTITIONS)
    await fill_topic(bootstrap, raw_topic, count)

    async def service(instances: int) -> float:
        figures = await stored_per_second(bootstrap, count, instances)
        name = f"consumer service x{instances}, SQLite"
        report.measurement(SCENARIO, name, "events/s").extra["CPU µs/event"] = figures[
            "cpu_us_per_event"
        ]
        return figures["rate"]

    await interleaved(
        repeats,
        {
            "consumer service x1, SQLite": lambda: service(1),
            "raw getmany + parse": lambda: raw_getmany(bootstrap, raw_topic, count),
            "consumer service x2, SQLite": lambda: service(2),
        },
        lambda name, rate: report.measurement(SCENARIO, name, "events/s").runs.append(rate),
    )
    report.ratio(SCENARIO, "consumer service x1, SQLite", "raw getmany + parse", "≥ 0.5")
    report.ratio(SCENARIO, "consumer service x2, SQLite", "consumer service x1, SQLite")
    report.notes.append(
        f"{SCENARIO}: {count} events of 1 KB in {PARTITIONS} partitions; the service (uvicorn, "
        "the example batch listener, SQLite in WAL mode with a full sync per commit, a file per "
        "instance) timed from resuming its paused listener to the last event stored; the raw "
        "loop parses every EventDto and commits per poll, storing nothing. The example stream "
        "topology is off here (scenario 6 measures it)."
    )
