"""Scenario 8 — Spring Boot side by side: the same REST contract and a no-op listener.

``bench/spring_reference`` is what a Java team would write instead of ``producer_service``:
Spring Boot 4.0 (Spring MVC on Tomcat, ``spring-boot-starter-kafka``), ``POST /events`` validates
the same JSON and answers 202 with partition and offset once ``KafkaTemplate.send(...).get()``
returned; the same producer settings (acks=all, idempotent, linger 5 ms, 256 KiB batches). The
bench builds it with Maven (cached like the Kafka jars) and warms the JVM up until its rate is
flat. Then, round by round on the same broker: Spring MVC, ``python -m producer_service`` with
one worker and with a worker per core — requests/s, p99 and CPU per request (the server's whole
process tree). Listeners: Spring's ``@KafkaListener`` parsing each event (JIT warmed up on the
first half of the topic, timed on the second) and a listener container doing the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx

from bench.consumer import container, fill
from bench.harness import Options, Report, sample_event
from bench.http import CONNECTIONS, DURATION_S, wrk
from bench.processes import serving, tree_cpu_seconds
from bench.producer import fresh_topic
from kafka_kit.local_kafka.cluster import free_ports, java_executable
from kafka_kit.web.serve import default_workers
from scripts.java_app import built_classpath

SCENARIO = "8 Spring Boot"
REFERENCE = Path(__file__).parent / "spring_reference"
SPRING = "Spring MVC POST /events"
WARM_UP_MIN_S = 40
WARM_UP_MAX_S = 120
FLAT = 0.05  # two warm-up runs within 5 % of each other: the JVM has reached its plateau


def _spring_command(bootstrap: str, port: int, properties: dict[str, str]) -> list[str]:
    classpath = built_classpath(REFERENCE, "spring-reference", "reference.build.dir")
    arguments = [f"--{name}={value}" for name, value in properties.items()]
    return [
        java_executable(),
        "-Xmx1g",
        "-cp",
        classpath,
        "reference.ReferenceApplication",
        f"--server.port={port}",
        f"--spring.kafka.bootstrap-servers={bootstrap}",
        *arguments,
    ]


@contextlib.contextmanager
def spring(bootstrap: str, properties: dict[str, str]) -> Iterator[tuple[str, int]]:
    """The reference application with Spring ``properties``; yields its base URL and pid."""
    (port,) = free_ports(1)
    command = _spring_command(bootstrap, port, properties)
    with serving(command, port, {}, "/listener") as process:
        yield f"http://127.0.0.1:{port}", process.pid


@contextlib.contextmanager
def producer_service(bootstrap: str, topic: str, workers: int) -> Iterator[tuple[str, int]]:
    """``python -m producer_service`` as users run it; yields its base URL and pid."""
    (port,) = free_ports(1)
    command = [sys.executable, "-m", "producer_service", "--port", str(port)]
    command += ["--workers", str(workers), "--log-level", "warning"]
    env = {"KAFKA_BOOTSTRAP_SERVERS": bootstrap, "EVENTS_TOPIC": topic}
    with serving(command, port, env, "/health") as process:
        yield f"http://127.0.0.1:{port}", process.pid


async def _load(url: str, body: str, pid: int) -> dict[str, float]:
    """One wrk run with the server's CPU per request."""
    before = tree_cpu_seconds(pid)
    figures = await asyncio.to_thread(wrk, url, body)
    cpu = tree_cpu_seconds(pid) - before
    requests = figures["rps"] * DURATION_S
    return {**figures, "cpu_us": cpu / requests * 1e6 if requests else float("nan")}


async def _warm_up(url: str, body: str, pid: int, report: Report) -> None:
    """Load until two runs in a row agree within FLAT, for WARM_UP_MIN_S at least."""
    rates: list[float] = []
    while len(rates) * DURATION_S < WARM_UP_MAX_S:
        rates.append((await _load(url, body, pid))["rps"])
        flat = len(rates) >= 2 and abs(rates[-1] - rates[-2]) <= FLAT * rates[-2]
        if flat and len(rates) * DURATION_S >= WARM_UP_MIN_S:
            break
    report.notes.append(
        f"{SCENARIO}: Spring warm-up, req/s per {DURATION_S} s run: "
        + ", ".join(f"{rate:,.0f}" for rate in rates)
    )


async def _http(report: Report, options: Options) -> None:
    bootstrap, repeats = options.bootstrap, options.repeats
    body = json.dumps(sample_event().model_dump(mode="json", exclude={"id", "occurred_at"}))
    cores = default_workers()
    spring_topic = await fresh_topic(bootstrap)
    python_topic = await fresh_topic(bootstrap)
    python_1, python_n = "producer_service, 1 worker", f"producer_service, {cores} workers"
    with (
        spring(bootstrap, {"reference.topic": spring_topic}) as (spring_base, spring_pid),
        producer_service(bootstrap, python_topic, 1) as (one_base, one_pid),
        producer_service(bootstrap, python_topic, cores) as (many_base, many_pid),
    ):
        await _warm_up(f"{spring_base}/events", body, spring_pid, report)
        servers = {
            SPRING: (f"{spring_base}/events", spring_pid),
            python_1: (f"{one_base}/events", one_pid),
            python_n: (f"{many_base}/events", many_pid),
        }
        for url, pid in list(servers.values())[1:]:
            await _load(url, body, pid)  # connections, caches: the Python side's warm-up
        for _ in range(repeats):
            for name, (url, pid) in servers.items():
                figures = await _load(url, body, pid)
                m = report.measurement(SCENARIO, name, "req/s")
                m.runs.append(figures["rps"])
                m.extra.setdefault("CPU µs/request runs", []).append(figures["cpu_us"])
                m.extra.update({"p99 ms": figures["p99_ms"], "non-2xx": figures["non_2xx"]})
    for name in servers:
        m = report.measurement(SCENARIO, name, "req/s")
        cpu_runs = m.extra.pop("CPU µs/request runs")
        m.extra["CPU µs/request"] = sorted(cpu_runs)[len(cpu_runs) // 2]
        cpu = report.measurement(SCENARIO, f"{name}: CPU per request", "µs")
        cpu.runs.extend(cpu_runs)
    report.ratio(SCENARIO, python_1, SPRING, "≥ 0.5")
    report.ratio(SCENARIO, python_n, SPRING, "≥ 0.5")
    report.ratio(SCENARIO, f"{python_n}: CPU per request", f"{SPRING}: CPU per request", "≤ 2")
    report.ratio(SCENARIO, f"{python_1}: CPU per request", f"{SPRING}: CPU per request", "≤ 2")


async def _spring_listener(bootstrap: str, topic: str, count: int) -> float:
    """Records/s of the @KafkaListener over the second half of a topic of 2 x ``count``."""
    group = f"bench-{uuid.uuid4().hex[:8]}"
    properties = {
        "reference.listener-enabled": "true",
        "reference.listener-topic": topic,
        "reference.listener-group": group,
        "reference.listener-warmup": str(count),
    }
    with spring(bootstrap, properties) as (base, _):
        async with httpx.AsyncClient(timeout=10) as client:
            deadline = asyncio.get_running_loop().time() + 600
            while True:
                pace = (await client.get(f"{base}/listener")).json()
                if pace["handled"] >= 2 * count:
                    return float(pace["rate"])
                if asyncio.get_running_loop().time() > deadline:
                    raise RuntimeError(f"the Spring listener handled only {pace['handled']}")
                await asyncio.sleep(0.5)


async def _listeners(report: Report, options: Options) -> None:
    bootstrap, count, repeats = options.bootstrap, options.events, options.repeats
    doubled = await fill(bootstrap, 2 * count)
    single = await fill(bootstrap, count)
    for _ in range(repeats):
        rate = await _spring_listener(bootstrap, doubled, count)
        report.measurement(SCENARIO, "Spring @KafkaListener", "records/s").runs.append(rate)
        rate = await container(bootstrap, single, count)
        report.measurement(SCENARIO, "listener container", "records/s").runs.append(rate)
    report.ratio(SCENARIO, "listener container", "Spring @KafkaListener")


async def run(report: Report, options: Options) -> None:
    """HTTP side by side, then listeners side by side."""
    if shutil.which("wrk") is None or shutil.which("mvn") is None:
        report.notes.append(f"{SCENARIO}: skipped, needs wrk and Maven")
        return
    await _http(report, options)
    await _listeners(report, options)
    report.notes.append(
        f"{SCENARIO}: wrk -t1 -c{CONNECTIONS} -d{DURATION_S}s with a 1 KB event, the same broker "
        "and topic settings; rounds alternate Spring / Python; CPU per request is the server's "
        "process tree's user+system time over the run divided by its requests. Listeners: each "
        f"parses every EventDto from {options.events:,} 1 KB records in 6 partitions (Spring: "
        "the second half of a topic twice that size, after the JIT warmed up on the first)."
    )
