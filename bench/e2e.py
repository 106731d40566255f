"""Scenario 4 — end to end, open loop: POST → producer → Kafka → consumer → stored.

Both services run as users run them (``python -m producer_service``: a worker per core; the
consumer service with its SQLite store), on a fresh topic. The load comes from
``bench.open_loop`` in its own process, at a fixed schedule per step (coordinated omission
corrected). The end-to-end latency of each event is taken from the store: its ``stored_at``
minus its ``occurred_at``, which the generator set to the event's scheduled send time. Steps rise
until p99 passes 100 ms or the generator cannot keep its schedule.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.harness import Options, Report
from bench.open_loop import percentile
from bench.processes import serving, uvicorn
from bench.producer import fresh_topic
from bench.service import all_assigned
from kafka_kit.local_kafka.cluster import free_ports

SCENARIO = "4 end to end"
RATES = (500, 1000, 1500, 2000, 2500, 3000, 4000, 5000)
SECONDS = 10
LIMIT_MS = 100
WARM_UP_RATE = 1000
GENERATOR_LAG_MS = 20  # a generator later than this (p99) is the limit, not the services


def _offer(url: str, rate: int, source: str) -> dict[str, object]:
    done = subprocess.run(
        [
            *(sys.executable, "-m", "bench.open_loop", url),
            *("--rate", str(rate), "--seconds", str(SECONDS), "--source", source),
        ],
        capture_output=True,
        text=True,
        timeout=SECONDS + 120,
        check=True,
    )
    figures: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


Stored = tuple[int, int, float, float]
"""partition, offset, scheduled send time and stored time (epoch seconds) of one event"""


def _stored(path: Path, source: str) -> list[Stored]:
    with contextlib.closing(sqlite3.connect(path)) as db:
        rows = db.execute(
            "SELECT partition, kafka_offset, occurred_at, stored_at FROM events WHERE source = ?",
            (source,),
        ).fetchall()
    return [
        (
            p,
            o,
            datetime.fromisoformat(occurred).timestamp(),
            datetime.fromisoformat(stored).timestamp(),
        )
        for p, o, occurred, stored in rows
    ]


async def _append_times(
    bootstrap: str, topic: str, stored: list[Stored]
) -> dict[tuple[int, int], float]:
    """Each stored event's record timestamp (when the producer made the record), by position."""
    wanted: dict[int, tuple[int, int]] = {}
    for partition, offset, _, _ in stored:
        low, high = wanted.get(partition, (offset, offset))
        wanted[partition] = (min(low, offset), max(high, offset))
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    times: dict[tuple[int, int], float] = {}
    try:
        partitions = {TopicPartition(topic, p): span for p, span in wanted.items()}
        consumer.assign(list(partitions))
        for tp, (low, _) in partitions.items():
            consumer.seek(tp, low)
        remaining = set(partitions)
        while remaining:
            for tp, records in (await consumer.getmany(timeout_ms=1000)).items():
                for record in records:
                    times[(tp.partition, record.offset)] = record.timestamp / 1000
                if records and records[-1].offset >= partitions[tp][1]:
                    remaining.discard(tp)
    finally:
        await consumer.stop()
    return times


async def _wait_stored(client: httpx.AsyncClient, base: str, total: int) -> bool:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if (await client.get(f"{base}/events/stats")).json()["inserted"] >= total:
            return True
        await asyncio.sleep(0.5)
    return False


async def run(report: Report, options: Options) -> None:
    """Step the offered rate up; per step the HTTP and end-to-end percentiles."""
    bootstrap = options.bootstrap
    topic = await fresh_topic(bootstrap)
    store = Path(tempfile.mkdtemp(prefix="bench-e2e-")) / "events.db"
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "EVENTS_TOPIC": topic,
        "EVENT_LOG_GROUP_ID": f"bench-{uuid.uuid4().hex[:8]}",
        "EVENT_STORE_URL": f"sqlite:///{store}",
        "EVENT_STATS_ENABLED": "false",
        "KAFKA_CONSUMER_AUTO_OFFSET_RESET": "latest",
    }
    (port,) = free_ports(1)
    producer_command = [sys.executable, "-m", "producer_service", "--port", str(port)]
    best, stored_total, stop_reason = 0, 0, "every step passed"
    with (
        serving([*producer_command, "--log-level", "warning"], port, env, "/health"),
        uvicorn("consumer_service.main:app", env) as (consumer, _),
    ):
        url = f"http://127.0.0.1:{port}/events"
        async with httpx.AsyncClient(timeout=30) as client:
            # Both consumers of the listener in the group before any load: no rebalance inside
            # a step. Then a warm-up step (connections, batches, the store's first pages).
            deadline = time.monotonic() + 60
            while not await all_assigned(client, [consumer]):
                if time.monotonic() > deadline:
                    raise RuntimeError("the consumer service was not assigned every partition")
                await asyncio.sleep(0.2)
            await asyncio.to_thread(_offer, url, WARM_UP_RATE, "warm-up")
            stored_total += WARM_UP_RATE * SECONDS
            await _wait_stored(client, consumer, stored_total)
            for rate in RATES:
                m = report.measurement(SCENARIO, f"{rate}/s offered", "p99 ms")
                passed = True
                for attempt in range(options.repeats):
                    source = f"rate-{rate}-{attempt}"
                    figures = await asyncio.to_thread(_offer, url, rate, source)
                    statuses = dict(figures["statuses"])  # type: ignore[call-overload]
                    accepted = int(statuses.get("202", 0))
                    stored_total += accepted
                    complete = await _wait_stored(client, consumer, stored_total)
                    stored = _stored(store, source)
                    made = await _append_times(bootstrap, topic, stored)
                    latencies = [(done - due) * 1000 for _, _, due, done in stored]
                    # Which side the time went to: until the record was made, and after it.
                    before = [(made[(p, o)] - due) * 1000 for p, o, due, _ in stored]
                    after = [(done - made[(p, o)]) * 1000 for p, o, _, done in stored]
                    p50, p99, p999 = (percentile(latencies, q) for q in (50, 99, 99.9))
                    http = dict(figures["http_ms"])  # type: ignore[call-overload]
                    m.runs.append(p99)
                    m.extra.update(
                        {
                            "e2e p50 ms": p50,
                            "e2e p99.9 ms": p999,
                            "to record p99 ms": percentile(before, 99),
                            "record to stored p99 ms": percentile(after, 99),
                            "HTTP p99 ms": http["99.0"],
                            "HTTP p99.9 ms": http["99.9"],
                            "accepted": accepted,
                            "not 202": figures["sent"] - accepted,  # type: ignore[operator]
                            "generator lag p99 ms": figures["send_lag_ms_p99"],
                        }
                    )
                    if not complete or accepted < int(figures["sent"]):  # type: ignore[call-overload]
                        passed, stop_reason = (
                            False,
                            f"{rate}/s: not every event accepted and stored",
                        )
                    elif float(figures["send_lag_ms_p99"]) > GENERATOR_LAG_MS:  # type: ignore[arg-type]
                        passed, stop_reason = False, f"{rate}/s: the generator fell behind"
                if passed and m.median < LIMIT_MS:
                    best = rate
                    continue
                if passed:
                    stop_reason = f"{rate}/s: p99 {m.median:,.0f} ms"
                break
    report.notes.append(
        f"{SCENARIO}: open-loop POSTs from bench.open_loop (own process, up to 256 keep-alive "
        f"connections) for {SECONDS} s per step; latency from each event's scheduled send time "
        "(its occurred_at) to its stored_at in the consumer's SQLite store; producer as "
        "`python -m producer_service` (a worker per core), consumer with its example listener; "
        f"median p99 over {options.repeats} runs per step. Highest rate with p99 < {LIMIT_MS} ms: "
        f"{best}/s (stopped at {stop_reason})."
    )
