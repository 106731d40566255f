"""Scenario — the cost of tracing: sends and a listener container, before tracing existed, with
tracing off, and with tracing on (spans exported over OTLP to a real Jaeger).

"Before" is this repository at ``BASELINE`` (the last commit without tracing), exported with
``git archive``; every variant runs ``bench/tracing_worker.py`` in a process of its own, so the
two releases never share an interpreter. Runs are interleaved.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.harness import Options, Report, interleaved
from bench.producer import fresh_topic
from kafka_kit import KafkaSettings, KafkaTemplate
from kafka_kit.tracing import KafkaTracing, TracingSettings
from kafka_kit.tracing.setup import otlp_tracer_provider
from scripts.jaeger import LocalJaeger

SCENARIO = "tracing"
BASELINE = "82bf4ad"
"""The last commit before kafka_kit.tracing (issue 32)."""
ROOT = Path(__file__).resolve().parent.parent


def export_baseline(into: Path) -> Path:
    """``shared/`` of BASELINE, unpacked under ``into``; the directory to put on PYTHONPATH."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", BASELINE, "shared"],
        capture_output=True,
        check=True,
    )
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into / "shared"


async def measured(
    kind: str, bootstrap: str, topic: str, count: int, *, path: Path | None, otlp: str | None
) -> float:
    """One worker run: its rate; checks that it measured the kafka_kit asked for."""
    env = dict(os.environ)
    if path is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(path), str(ROOT)])
    args = [sys.executable, "-m", "bench.tracing_worker", kind, bootstrap, topic, str(count)]
    done = await asyncio.to_thread(
        subprocess.run,
        [*args, *([otlp] if otlp else [])],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    if done.returncode != 0:
        raise RuntimeError(f"tracing worker {kind} failed:\n{done.stderr[-3000:]}")
    line = json.loads(done.stdout.strip().splitlines()[-1])
    expected = path if path is not None else ROOT / "shared"
    if not line["kafka_kit"].startswith(str(expected)):
        raise RuntimeError(f"measured {line['kafka_kit']}, not the kafka_kit under {expected}")
    return float(line["rate"])


async def traced_fill(bootstrap: str, topic: str, count: int, otlp: str) -> None:
    """``count`` 1 KB records carrying trace context, as a traced producer writes them."""
    provider = otlp_tracer_provider("bench-fill", TracingSettings(otlp_endpoint=otlp))
    value = b'{"payload": "' + b"x" * 1000 + b'"}'
    async with KafkaTemplate(
        KafkaSettings(bootstrap_servers=bootstrap), tracing=KafkaTracing(provider)
    ) as template:
        for start in range(0, count, 1000):
            await asyncio.gather(
                *(
                    template.send(topic, value, key=f"k-{n % 100}")
                    for n in range(start, start + 1000)
                )
            )
    provider.shutdown()


async def run(report: Report, options: Options) -> None:
    """Sends and a listener, three ways each, interleaved; ratios against the release before."""
    bootstrap, repeats = options.bootstrap, options.repeats
    count = min(options.events, 50_000) // 1000 * 1000 or 1000
    with LocalJaeger() as jaeger, tempfile.TemporaryDirectory() as scratch:
        before = export_baseline(Path(scratch))
        otlp = jaeger.otlp_endpoint
        filled = await fresh_topic(bootstrap)
        await traced_fill(bootstrap, filled, count, otlp)
        ways = {
            f"before tracing ({BASELINE})": (before, None),
            "tracing off": (None, None),
            "tracing on (OTLP to Jaeger)": (None, otlp),
        }
        variants = {}
        for label, (path, endpoint) in ways.items():
            for kind, what in (("send", "send"), ("listen", "listener")):

                async def one(
                    kind: str = kind, path: Path | None = path, endpoint: str | None = endpoint
                ) -> float:
                    topic = await fresh_topic(bootstrap) if kind == "send" else filled
                    return await measured(kind, bootstrap, topic, count, path=path, otlp=endpoint)

                variants[f"{what}: {label}"] = one
        await interleaved(
            repeats,
            variants,
            lambda name, rate: report.measurement(SCENARIO, name, "records/s").runs.append(rate),
        )
    base = f"before tracing ({BASELINE})"
    for what in ("send", "listener"):
        report.ratio(SCENARIO, f"{what}: tracing off", f"{what}: {base}", "≥ 0.97")
        report.ratio(SCENARIO, f"{what}: tracing on (OTLP to Jaeger)", f"{what}: tracing off", "")
    report.notes.append(
        f"{SCENARIO}: {count} records of 1 KB per run; sends keyed (100 keys), acks=all, "
        "1000 in flight; the listener is a record listener doing nothing, reading records a "
        "traced producer wrote (so every call extracts a trace context). Each variant runs in a "
        f"process of its own; 'before tracing' is commit {BASELINE} (git archive). Tracing on: "
        "a PRODUCER or CONSUMER span per record, batch-exported over OTLP/HTTP to a local Jaeger."
    )
