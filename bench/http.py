"""Scenario 3 — HTTP ingestion with wrk: the producer service vs the same app without Kafka."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from bench.harness import Options, Report, sample_event
from bench.processes import cpu_seconds, uvicorn

SCENARIO = "3 http"
DURATION_S = 10
CONNECTIONS = 128


def _script(body: str) -> Path:
    path = Path(tempfile.mkdtemp()) / "post.lua"
    path.write_text(
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f"wrk.body = {json.dumps(body)}\n"
    )
    return path


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url: str, body: str) -> dict[str, float]:
    """One wrk run: requests/s, p50/p99 latency (ms), and wrk's own CPU use (cores)."""
    process = subprocess.Popen(
        [
            "wrk",
            "-t1",
            f"-c{CONNECTIONS}",
            f"-d{DURATION_S}s",
            "--latency",
            "-s",
            str(_script(body)),
            url,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    started, cpu_before = time.monotonic(), cpu_seconds(process.pid)
    cpu_after = cpu_before
    while process.poll() is None:
        try:
            cpu_after = cpu_seconds(process.pid)
        except OSError:
            break
        time.sleep(0.2)
    output = process.communicate()[0]
    wall = time.monotonic() - started
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    latency = dict(re.findall(r"\s(50|99)%\s+([\d.]+(?:us|ms|s))", output))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "rps": rps,
        "p50_ms": _ms(latency["50"]),
        "p99_ms": _ms(latency["99"]),
        "wrk_cpu": (cpu_after - cpu_before) / wall,
        "non_2xx": float(errors.group(1)) if errors else 0.0,
    }


async def run(report: Report, options: Options) -> None:
    """Single events and batches of 100 against the real service; singles against no-send."""
    bootstrap, repeats = options.bootstrap, options.repeats
    if shutil.which("wrk") is None:
        report.notes.append(f"{SCENARIO}: skipped, wrk is not installed (apt-get install wrk)")
        return
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "EVENTS_TOPIC": f"bench-http-{uuid.uuid4().hex[:8]}",
        "PRODUCER_MAX_BODY_BYTES": str(4 * 1024 * 1024),
        "PRODUCER_MAX_BATCH_EVENTS": "1000",
    }
    event = sample_event().model_dump(mode="json", exclude={"id", "occurred_at"})
    single, batch = json.dumps(event), json.dumps([event] * 100)
    with (
        uvicorn("producer_service.main:app", env) as (real, real_process),
        uvicorn("bench.no_send_app:app", env) as (no_send, no_send_process),
    ):
        for _ in range(repeats):
            for variant, url, body, per_request, server in (
                ("POST /events", f"{real}/events", single, 1, real_process.pid),
                ("POST /events (no send)", f"{no_send}/events", single, 1, no_send_process.pid),
                ("POST /events/batch x100", f"{real}/events/batch", batch, 100, real_process.pid),
            ):
                cpu_before = cpu_seconds(server)
                figures = await asyncio.to_thread(wrk, url, body)
                server_cpu = (cpu_seconds(server) - cpu_before) / DURATION_S
                m = report.measurement(SCENARIO, variant, "events/s")
                m.runs.append(figures["rps"] * per_request)
                m.extra.update(
                    {
                        "req/s": figures["rps"],
                        "p50 ms": figures["p50_ms"],
                        "p99 ms": figures["p99_ms"],
                        "wrk CPU": figures["wrk_cpu"],
                        "server CPU": server_cpu,
                        "non-2xx": figures["non_2xx"],
                    }
                )
    report.ratio(SCENARIO, "POST /events", "POST /events (no send)", "≥ 0.7")
    report.notes.append(
        f"{SCENARIO}: wrk -t1 -c{CONNECTIONS} -d{DURATION_S}s, one uvicorn worker per service, "
        "1 KB events; 'no send' is the same app with Kafka taken out; extras show the last run."
    )
