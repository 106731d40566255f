"""Scenario 4 — end to end: POST → listener handler latency at fixed offered rates."""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from datetime import UTC, datetime

import httpx

from bench.harness import Options, Report, sample_event
from bench.processes import uvicorn
from kafka_kit import ConsumerSettings, KafkaSettings, ListenerRegistry, kafka_listener
from producer_service.events import EventDto

SCENARIO = "4 end to end"
RATES = (50, 100, 200, 400, 600, 800, 1000)
SECONDS = 8


def _percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else 0


async def _offer(client: httpx.AsyncClient, rate: int, seconds: int) -> int:
    """POST ``rate`` events a second for ``seconds``, on schedule (open loop)."""
    template = sample_event().model_dump(mode="json", exclude={"id", "occurred_at"})
    started = time.perf_counter()
    tasks = []
    for n in range(rate * seconds):
        delay = started + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        body = {**template, "occurred_at": datetime.now(UTC).isoformat()}
        tasks.append(asyncio.create_task(client.post("/events", json=body)))
    answers = await asyncio.gather(*tasks, return_exceptions=True)
    return sum(1 for a in answers if isinstance(a, httpx.Response) and a.status_code == 202)


async def run(report: Report, options: Options) -> None:
    """Step the offered rate up until p99 passes 100 ms; keep each step's percentiles."""
    bootstrap = options.bootstrap
    topic = f"bench-e2e-{uuid.uuid4().hex[:8]}"
    env = {"KAFKA_BOOTSTRAP_SERVERS": bootstrap, "EVENTS_TOPIC": topic}
    latencies: list[float] = []
    registry = ListenerRegistry()

    @kafka_listener(topic, group_id=f"bench-{uuid.uuid4().hex[:8]}", registry=registry)
    async def measure(event: EventDto) -> None:
        latencies.append((datetime.now(UTC) - event.occurred_at).total_seconds() * 1000)

    best = 0
    with uvicorn("producer_service.main:app", env) as (base, _):
        consumer = ConsumerSettings(auto_offset_reset="latest", poll_timeout_ms=100)
        await registry.start(KafkaSettings(bootstrap_servers=bootstrap, consumer=consumer))
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        try:
            async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
                await client.post("/events", json={"type": "warm", "source": "up"})
                await asyncio.sleep(2)
                for rate in RATES:
                    m = report.measurement(SCENARIO, f"{rate}/s offered", "p99 ms")
                    complete = True
                    for _ in range(options.repeats):
                        latencies.clear()
                        accepted = await _offer(client, rate, SECONDS)
                        deadline = time.monotonic() + 10
                        while len(latencies) < accepted and time.monotonic() < deadline:  # noqa: ASYNC110
                            await asyncio.sleep(0.1)
                        p50, p95, p99 = (_percentile(latencies, q) for q in (50, 95, 99))
                        m.runs.append(p99)
                        m.extra.update({"p50 ms": p50, "p95 ms": p95, "accepted": accepted})
                        complete = complete and len(latencies) >= accepted
                    if m.median < 100 and complete:
                        best = rate
                    else:
                        break
        finally:
            await registry.stop()
    report.notes.append(
        f"{SCENARIO}: open-loop POSTs at each rate for {SECONDS} s (one httpx client in the bench "
        f"process, which also runs the listener); latency = handler time - the event's "
        f"occurred_at set by the client. Highest rate with p99 < 100 ms: {best}/s "
        f"(steps {RATES}; median p99 over {options.repeats} runs per step)."
    )
