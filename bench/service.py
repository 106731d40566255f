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
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg

from bench.consumer import fill_topic, raw_getmany
from bench.harness import Options, Report, interleaved, sample_event
from bench.processes import cpu_seconds, uvicorn
from bench.producer import fresh_topic
from consumer_service.event_rows import PlacedEvent
from consumer_service.event_store import event_store_for
from scripts.postgres_server import available as postgres_available
from scripts.postgres_server import postgres_server

SCENARIO = "7 consumer service"
PARTITIONS = 6
RAW = "raw getmany + parse"
SQLITE_1 = "consumer service x1, SQLite"
SQLITE_2 = "consumer service x2, SQLite"
POSTGRES_1 = "consumer service x1, PostgreSQL"


async def all_assigned(client: httpx.AsyncClient, bases: list[str]) -> bool:
    """Whether the example listeners of ``bases`` together own every partition."""
    owned = 0
    for base in bases:
        status = (await client.get(f"{base}/listeners/event_log")).json()
        owned += sum(len(c["partitions"]) for c in status["containers"])
    return owned == PARTITIONS


async def _inserted(client: httpx.AsyncClient, bases: list[str]) -> int:
    stats = [(await client.get(f"{base}/events/stats")).json() for base in bases]
    return sum(s["inserted"] for s in stats)


async def fresh_database(dsn: str) -> str:
    """A new, empty database on the server of ``dsn``: each run starts with an empty table."""
    name = f"bench_{uuid.uuid4().hex[:8]}"
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        await conn.execute(f"CREATE DATABASE {name}")
    return dsn.rsplit("/", 1)[0] + f"/{name}"


async def store_alone(url: str, count: int) -> float:
    """Events per second through ``save_many`` alone, 500 per call: no Kafka, no HTTP."""
    store = event_store_for(url)
    await store.open()
    placed = [PlacedEvent(sample_event(n), "bench", n % PARTITIONS, n) for n in range(count)]
    try:
        started = time.perf_counter()
        for start in range(0, count, 500):
            await store.save_many(placed[start : start + 500])
        return count / (time.perf_counter() - started)
    finally:
        await store.close()


async def stored_per_second(
    bootstrap: str, count: int, instances: int = 1, postgres: str | None = None
) -> dict[str, float]:
    """Events stored per second by ``instances`` consumer services sharing one group.

    Each instance has its own SQLite file, or all of them share a fresh PostgreSQL database.
    """
    topic = await fresh_topic(bootstrap, PARTITIONS)
    group = f"bench-{uuid.uuid4().hex[:8]}"
    folder = Path(tempfile.mkdtemp(prefix="bench-store-"))
    database = await fresh_database(postgres) if postgres else None
    with contextlib.ExitStack() as running:
        bases, pids = [], []
        for n in range(instances):
            env = {
                "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
                "EVENTS_TOPIC": topic,
                "EVENTS_PARTITIONS": str(PARTITIONS),
                "EVENT_LOG_GROUP_ID": group,
                "EVENT_STORE_URL": database or f"sqlite:///{folder}/events-{n}.db",
                # The example stream topology reads the same topic: measured in scenario 6.
                "EVENT_STATS_ENABLED": "false",
            }
            base, process = running.enter_context(uvicorn("consumer_service.main:app", env))
            bases.append(base)
            pids.append(process.pid)
        async with httpx.AsyncClient(timeout=30) as client:
            deadline = time.monotonic() + 60
            while not await all_assigned(client, bases):
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
    last = await _last_stored_postgres(database) if database else _last_stored(folder)
    took = (last - started).total_seconds()
    return {"rate": count / took, "cpu_us_per_event": cpu / count * 1e6}


def _last_stored(folder: Path) -> datetime:
    """When the last batch was written, over every instance's file."""
    stamps = []
    for path in folder.glob("events-*.db"):
        with contextlib.closing(sqlite3.connect(path)) as db:
            stamps.append(db.execute("SELECT max(stored_at) FROM events").fetchone()[0])
    return max(datetime.fromisoformat(stamp) for stamp in stamps)


async def _last_stored_postgres(dsn: str) -> datetime:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        cursor = await conn.execute("SELECT max(stored_at) FROM events")
        row = await cursor.fetchone()
    assert row is not None
    return datetime.fromisoformat(row[0])


async def run(report: Report, options: Options) -> None:
    """The service (SQLite; PostgreSQL where installed) vs the raw loop vs the store alone,
    interleaved; then one vs two instances."""
    with contextlib.ExitStack() as stack:
        postgres = (
            stack.enter_context(postgres_server(fsync=True)) if postgres_available() else None
        )
        await _run(report, options, postgres)


async def _run(report: Report, options: Options, postgres: str | None) -> None:
    bootstrap, count, repeats = options.bootstrap, options.events, options.repeats
    raw_topic = await fresh_topic(bootstrap, PARTITIONS)
    await fill_topic(bootstrap, raw_topic, count)
    folder = Path(tempfile.mkdtemp(prefix="bench-store-"))

    def service(
        name: str, instances: int, dsn: str | None = None
    ) -> Callable[[], Awaitable[float]]:
        async def measured() -> float:
            figures = await stored_per_second(bootstrap, count, instances, dsn)
            extra = report.measurement(SCENARIO, name, "events/s").extra
            extra["CPU µs/event"] = figures["cpu_us_per_event"]
            return figures["rate"]

        return measured

    variants: dict[str, Callable[[], Awaitable[float]]] = {
        SQLITE_1: service(SQLITE_1, 1),
        RAW: lambda: raw_getmany(bootstrap, raw_topic, count),
        "SQLite store alone": lambda: store_alone(
            f"sqlite:///{folder}/{uuid.uuid4().hex[:8]}.db", count
        ),
        SQLITE_2: service(SQLITE_2, 2),
    }
    if postgres:
        variants[POSTGRES_1] = service(POSTGRES_1, 1, postgres)
        variants["PostgreSQL store alone"] = lambda: _postgres_alone(postgres, count)
    await interleaved(
        repeats,
        variants,
        lambda name, rate: report.measurement(SCENARIO, name, "events/s").runs.append(rate),
    )
    report.ratio(SCENARIO, SQLITE_1, RAW, "≥ 0.5")
    report.ratio(SCENARIO, SQLITE_1, "SQLite store alone", "(the store's limit)")
    if postgres:
        report.ratio(SCENARIO, POSTGRES_1, RAW, "≥ 0.5")
    report.ratio(SCENARIO, SQLITE_2, SQLITE_1, "(scale-out)")
    report.notes.append(
        f"{SCENARIO}: {count} events of 1 KB in {PARTITIONS} partitions; the service (uvicorn, "
        "the example batch listener with two consumers, each poll stored in one transaction) "
        "timed from resuming its paused listener to the last event stored; SQLite in WAL mode "
        "with a full sync per commit, a file per instance; PostgreSQL with fsync on, a fresh "
        "database per run. The raw loop parses every EventDto and commits per poll, storing "
        "nothing; 'store alone' is save_many in 500s with no Kafka. The example stream "
        "topology is off here (scenario 6 measures it)."
    )


async def _postgres_alone(dsn: str, count: int) -> float:
    return await store_alone(await fresh_database(dsn), count)
