"""Scenario 9 — soak: many events at a fixed rate through both services; memory over time.

Both services run as processes (uvicorn, one worker each; the consumer with its listener, SQLite
store and example stream topology). Events are posted at a fixed rate as ``POST /events/batch``
of 100, over ``SOAK_KEYS`` keys with a new id each; every ``SAMPLE_S`` the services' RSS is
sampled with how far they got. The figures: each service's RSS after the first million events
and after all of them, their ratio (target ≤ 1.2) and the RSS itself (target < 250 MB); the
samples go to ``soak-<time>.json`` and a plot to ``soak-<time>.png`` beside the results.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.harness import Options, Report, sample_event
from bench.processes import rss_mb, uvicorn

SCENARIO = "9 soak"
BATCH = 100
CLIENTS = 4
SAMPLE_S = 10.0
SOAK_KEYS = 10_000
FIRST = 1_000_000
TARGET_RATIO = 1.2
TARGET_MB = 250.0


@dataclass
class Sample:
    """One look at both services."""

    elapsed_s: float
    posted: int
    stored: int
    streamed: int
    producer_mb: float
    consumer_mb: float


def _bodies(size: int) -> list[bytes]:
    """Batches over ``SOAK_KEYS`` keys, ids left to the producer (each event a new one)."""
    bodies = []
    for start in range(0, SOAK_KEYS, BATCH):
        events = []
        for n in range(start, start + BATCH):
            event = sample_event(n, size).model_dump(mode="json", exclude={"id", "occurred_at"})
            events.append({**event, "key": f"customer-{n}"})
        bodies.append(json.dumps(events).encode())
    return bodies


async def _post_at_rate(producer: str, total: int, rate: float, counter: list[int]) -> None:
    """``total`` events at ``rate`` per second: batch *i* is due at ``i * BATCH / rate`` s."""
    bodies = _bodies(256)
    batches = total // BATCH
    started = time.monotonic()
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(batches):
        queue.put_nowait(n)

    async def client() -> None:
        async with httpx.AsyncClient(timeout=120) as http:
            while not queue.empty():
                n = queue.get_nowait()
                due = started + n * BATCH / rate
                if (wait := due - time.monotonic()) > 0:
                    await asyncio.sleep(wait)
                answer = await http.post(
                    f"{producer}/events/batch",
                    content=bodies[n % len(bodies)],
                    headers={"content-type": "application/json"},
                )
                if answer.status_code == 202:
                    counter[0] += BATCH
                else:  # not written: posted again later, the total stays what it says
                    queue.put_nowait(n)
                    await asyncio.sleep(1)

    await asyncio.gather(*(client() for _ in range(CLIENTS)))


async def _progress(http: httpx.AsyncClient, consumer: str) -> tuple[int, int]:
    # What the listener stored since the service started (the store itself keeps 10 min).
    stored = (await http.get(f"{consumer}/events/stats")).json()["inserted"]
    streams = (await http.get(f"{consumer}/streams")).json()
    streamed = max(streams.get("records_processed", {}).values(), default=0)
    return int(stored), int(streamed)


async def soak(bootstrap: str, total: int, rate: float) -> dict[str, Any]:
    """Run it; the samples and the figures."""
    scratch = Path(tempfile.mkdtemp(prefix="bench-soak-"))
    topic = f"bench-soak-{uuid.uuid4().hex[:8]}"
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "EVENTS_TOPIC": topic,
        "EVENTS_PARTITIONS": "6",
        "EVENT_LOG_GROUP_ID": f"soak-{uuid.uuid4().hex[:8]}",
        "EVENT_STORE_URL": f"sqlite:///{scratch}/events.db",
        "EVENT_STORE_RETENTION_S": "600",
        "KAFKA_STREAMS_APPLICATION_ID": f"soak-stats-{uuid.uuid4().hex[:8]}",
        "KAFKA_STREAMS_STATE_DIR": str(scratch / "state"),
        "PRODUCER_MAX_BODY_BYTES": str(4 * 1024 * 1024),
        "PRODUCER_MAX_BATCH_EVENTS": "1000",
        "LAG_OFFSET_REFRESH_S": "10",
    }
    samples: list[Sample] = []
    posted = [0]
    try:
        with (
            uvicorn("producer_service.main:app", env) as (producer, producer_process),
            uvicorn("consumer_service.main:app", env) as (consumer, consumer_process),
        ):
            started = time.monotonic()
            posting = asyncio.create_task(_post_at_rate(producer, total, rate, posted))
            async with httpx.AsyncClient(timeout=30) as http:
                while True:
                    stored, streamed = await _progress(http, consumer)
                    samples.append(
                        Sample(
                            round(time.monotonic() - started, 1),
                            posted[0],
                            stored,
                            streamed,
                            round(rss_mb(producer_process.pid), 1),
                            round(rss_mb(consumer_process.pid), 1),
                        )
                    )
                    last = samples[-1]
                    print(
                        f"soak {last.elapsed_s:>7.0f} s: posted {last.posted:,}, stored "
                        f"{last.stored:,}, streamed {last.streamed:,}; RSS producer "
                        f"{last.producer_mb:.0f} MB, consumer {last.consumer_mb:.0f} MB",
                        flush=True,
                    )
                    if posting.done() and stored >= total and streamed >= total:
                        break
                    await asyncio.sleep(SAMPLE_S)
            await posting
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return {"total": total, "rate": rate, "samples": [asdict(s) for s in samples]}


def _rss_at(samples: list[dict[str, Any]], events: int, service: str) -> float:
    """A service's RSS at the first sample where it had handled ``events``."""
    handled = "posted" if service == "producer" else "stored"
    for sample in samples:
        if sample[handled] >= events and (service == "producer" or sample["streamed"] >= events):
            return float(sample[f"{service}_mb"])
    return float(samples[-1][f"{service}_mb"])


def plot(result: dict[str, Any], path: Path) -> None:
    """RSS of both services against the events they handled, with the targets."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    samples = result["samples"]
    figure, axes = plt.subplots(figsize=(9, 5))
    axes.plot([s["posted"] / 1e6 for s in samples], [s["producer_mb"] for s in samples],
              label="producer service (events posted)")  # fmt: skip
    axes.plot([s["stored"] / 1e6 for s in samples], [s["consumer_mb"] for s in samples],
              label="consumer service (events stored and counted)")  # fmt: skip
    axes.axhline(TARGET_MB, color="grey", linestyle="--", label=f"target: < {TARGET_MB:.0f} MB")
    axes.axvline(FIRST / 1e6, color="lightgrey", linestyle=":")
    axes.set_xlabel("events handled (millions)")
    axes.set_ylabel("RSS (MB)")
    axes.set_ylim(bottom=0)
    axes.set_title(
        f"soak: {result['total']:,} events at {result['rate']:,.0f}/s, "
        f"{samples[-1]['elapsed_s'] / 60:.0f} min"
    )
    axes.legend(loc="lower right")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


async def run(report: Report, options: Options) -> None:
    """Both services' RSS after 1 M and after all events, at a fixed rate; the plot."""
    total, rate = options.soak_events, options.soak_rate
    result = await soak(options.bootstrap, total, rate)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    options.out.mkdir(parents=True, exist_ok=True)
    (options.out / f"soak-{stamp}.json").write_text(json.dumps(result, indent=1))
    plot(result, options.out / f"soak-{stamp}.png")
    samples = result["samples"]
    for service in ("producer", "consumer"):
        first = _rss_at(samples, min(FIRST, total), service)
        end = float(samples[-1][f"{service}_mb"])
        early = report.measurement(SCENARIO, f"{service} service RSS after {FIRST:,}", "MB")
        early.runs.append(first)
        late = report.measurement(SCENARIO, f"{service} service RSS after {total:,}", "MB")
        late.runs.append(end)
        late.extra["target MB"] = f"< {TARGET_MB:.0f}"
        report.ratio(
            SCENARIO,
            late.variant,
            early.variant,
            target=f"≤ {TARGET_RATIO}",
        )
    seconds = samples[-1]["elapsed_s"]
    report.notes.append(
        f"{SCENARIO}: {total:,} events of ~256 bytes posted at {rate:,.0f}/s as "
        f"/events/batch of {BATCH} ({CLIENTS} clients, {SOAK_KEYS:,} keys, a new id each) "
        f"to both services (uvicorn, one worker each; SQLite store with 10 min retention; the "
        f"example stream topology); {seconds / 60:.0f} min; RSS sampled every {SAMPLE_S:.0f} s "
        f"(soak-{stamp}.json, plot soak-{stamp}.png)."
    )
