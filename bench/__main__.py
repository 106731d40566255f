"""``./dev bench`` (``python -m bench``): every scenario side by side, one broker, one run."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bench import (
    consumer,
    e2e,
    failover,
    http,
    producer,
    scale,
    service,
    share,
    soak,
    spring,
    streams,
    tracing,
)
from bench.harness import Options, Report, broker
from kafka_kit.settings import exit_if_invalid
from scripts.service_settings import SERVICE_SETTINGS

SCENARIOS = {
    "producer": producer.run,
    "consumer": consumer.run,
    "http": http.run,
    "e2e": e2e.run,
    "scale": scale.run,
    "streams": streams.run,
    "service": service.run,
    "spring": spring.run,
    "soak": soak.run,
    "failover": failover.run,
    "tracing": tracing.run,
    "share": share.run,
}

DEFAULT = [name for name in SCENARIOS if name not in ("soak", "failover")]
"""What ``./dev bench`` runs without ``--scenarios``: the soak takes an hour and the failover
starts a three-node cluster of its own; both are asked for by name."""


async def main_async(args: argparse.Namespace, bootstrap: str) -> Report:
    report = Report(args.repeats)
    options = Options(
        bootstrap,
        args.events,
        args.repeats,
        args.rss_events,
        soak_events=args.soak_events,
        soak_rate=args.soak_rate,
        out=args.out,
    )
    for name in args.scenarios:
        print(f"--- scenario {name}", flush=True)
        await SCENARIOS[name](report, options)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./dev bench", description=__doc__)
    parser.add_argument("--scenarios", nargs="+", default=DEFAULT, choices=list(SCENARIOS))
    parser.add_argument("--events", type=int, default=100_000, help="events per run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument(
        "--rss-events", type=int, default=1_000_000, help="events through both services for RSS"
    )
    parser.add_argument(
        "--soak-events", type=int, default=10_000_000, help="events through both services (soak)"
    )
    parser.add_argument(
        "--soak-rate", type=float, default=3_000.0, help="events per second posted (soak)"
    )
    args = parser.parse_args(argv)
    # The scenarios build settings (and run both services) from the environment: check it first.
    exit_if_invalid(*SERVICE_SETTINGS)
    with broker() as bootstrap:
        report = asyncio.run(main_async(args, bootstrap))
    json_path, md_path = report.write(args.out)
    print(report.markdown())
    print(f"written: {json_path} {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
