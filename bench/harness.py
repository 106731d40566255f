"""Repeat measurements, keep medians and spreads, write JSON and a Markdown table with ratios."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import statistics
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from event_contract.events import EventDto
from kafka_kit.local_kafka import LocalKafkaCluster


@contextlib.contextmanager
def broker() -> Iterator[str]:
    """``KAFKA_BOOTSTRAP_SERVERS`` if set, else a one-node Kafka of our own."""
    existing = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if existing:
        yield existing
        return
    with LocalKafkaCluster(1) as cluster:
        yield cluster.bootstrap_servers


def sample_event(n: int = 0, size: int = 1024) -> EventDto:
    """An event whose JSON is about ``size`` bytes (the benchmarks' 1 KB record)."""
    event = EventDto(
        type="order.created",
        source="bench",
        key=f"customer-{n % 100}",
        payload={"order_id": n, "lines": [], "note": ""},
    )
    padding = size - len(event.model_dump_json())
    event.payload["note"] = "x" * max(0, padding)
    return event


@dataclass(frozen=True)
class Options:
    """What every scenario is given: the broker, events per run, runs, events for RSS."""

    bootstrap: str
    events: int
    repeats: int
    rss_events: int = 1_000_000
    soak_events: int = 10_000_000
    soak_rate: float = 3_000.0
    out: Path = Path("bench/results")


@dataclass
class Measurement:
    """One variant of one scenario: its runs, and the figure that matters."""

    scenario: str
    variant: str
    unit: str
    runs: list[float] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def median(self) -> float:
        """The middle run."""
        return _median(self.runs)

    @property
    def spread(self) -> tuple[float, float]:
        """Lowest and highest run."""
        return _spread(self.runs)


@dataclass
class Ratio:
    """One ratio of two variants: its value in each round, and the target it is held to."""

    scenario: str
    name: str
    rounds: list[float]
    target: str = ""

    @property
    def value(self) -> float:
        """The median round."""
        return _median(self.rounds)

    @property
    def spread(self) -> tuple[float, float]:
        """Lowest and highest round."""
        return _spread(self.rounds)


class Report:
    """Everything one bench run measured."""

    def __init__(self, repeats: int) -> None:
        self.repeats = repeats
        self.started = time.strftime("%Y-%m-%d %H:%M:%S")
        self.measurements: list[Measurement] = []
        self.ratios: list[Ratio] = []
        self.notes: list[str] = []

    def measurement(self, scenario: str, variant: str, unit: str) -> Measurement:
        """Get or create the measurement of ``variant``."""
        for m in self.measurements:
            if (m.scenario, m.variant) == (scenario, variant):
                return m
        created = Measurement(scenario, variant, unit)
        self.measurements.append(created)
        return created

    def ratio(self, scenario: str, numerator: str, denominator: str, target: str = "") -> float:
        """``numerator`` ÷ ``denominator`` (same scenario), recorded with its spread.

        Runs are interleaved (scale: in sequence), so run *i* of each was measured in round *i*: the
        ratio is the median of the rounds' ratios (drift of a shared machine between rounds
        cancels out), and the spread is theirs. Unequal run counts fall back to the medians.
        """
        top = self.measurement(scenario, numerator, "")
        bottom = self.measurement(scenario, denominator, "")
        if top.runs and len(top.runs) == len(bottom.runs):
            rounds = [a / b for a, b in zip(top.runs, bottom.runs, strict=True) if b]
        else:
            rounds = [top.median / bottom.median] if bottom.median else []
        ratio = Ratio(scenario, f"{numerator} ÷ {denominator}", rounds, target)
        self.ratios.append(ratio)
        return ratio.value

    def write(self, directory: Path) -> tuple[Path, Path]:
        """``bench-<time>.json`` and ``.md`` in ``directory``; returns both paths."""
        directory.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        data = {
            "started": self.started,
            "repeats": self.repeats,
            "machine": {"python": platform.python_version(), "cpus": _cpus()},
            "measurements": [
                {**asdict(m), "median": m.median, "spread": m.spread} for m in self.measurements
            ],
            "ratios": [{**asdict(r), "value": r.value, "spread": r.spread} for r in self.ratios],
            "notes": self.notes,
        }
        json_path = directory / f"bench-{stamp}.json"
        json_path.write_text(json.dumps(data, indent=2, default=_jsonable))
        md_path = directory / f"bench-{stamp}.md"
        md_path.write_text(self.markdown())
        return json_path, md_path

    def markdown(self) -> str:
        """The tables: figures (median, spread over the runs) and ratios."""
        lines = [
            f"Bench run {self.started}, {self.repeats} runs per figure (median, min-max).",
            "",
            "| scenario | variant | median | min-max | unit | notes |",
            "|---|---|---:|---:|---|---|",
        ]
        for m in self.measurements:
            low, high = m.spread
            notes = ", ".join(f"{k} {_fmt(v)}" for k, v in m.extra.items())
            lines.append(
                f"| {m.scenario} | {m.variant} | {_fmt(m.median)} | {_fmt(low)}-{_fmt(high)} "
                f"| {m.unit} | {notes} |"
            )
        lines += [
            "",
            "| scenario | ratio (median of the rounds) | value | min-max | target |",
            "|---|---|---:|---:|---|",
        ]
        for r in self.ratios:
            low, high = r.spread
            lines.append(
                f"| {r.scenario} | {r.name} | {r.value:.2f} | {low:.2f}-{high:.2f} | {r.target} |"
            )
        if self.notes:
            lines += ["", *[f"- {note}" for note in self.notes]]
        return "\n".join(lines) + "\n"


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _spread(values: list[float]) -> tuple[float, float]:
    return (min(values), max(values)) if values else (float("nan"), float("nan"))


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}"
    return str(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return str(value)


def _cpus() -> int:
    import os

    return os.cpu_count() or 0


async def interleaved(
    repeats: int,
    variants: dict[str, Callable[[], Awaitable[float]]],
    record: Callable[[str, float], None],
) -> None:
    """Run every variant ``repeats`` times, round-robin, so drift hits all of them alike."""
    for _ in range(repeats):
        for name, run in variants.items():
            record(name, await run())
