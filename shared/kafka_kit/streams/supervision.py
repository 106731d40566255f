"""What outlives one engine: the failure policies' counts and the records that failed it."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from kafka_kit.streams.failures import FailureCounts, FailureKind
from kafka_kit.streams.settings import StreamsSettings

__all__ = ["Coordinates", "Supervision"]

Coordinates = tuple[str, int, int]
"""A record's topic, partition and offset."""


class _Bounded(OrderedDict[Coordinates, Any]):
    """Remembers the latest ``limit`` entries: memory stays bounded however many records fail."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def __setitem__(self, key: Coordinates, value: Any) -> None:
        super().__setitem__(key, value)
        self.move_to_end(key)
        while len(self) > self.limit:
            self.popitem(last=False)


@dataclass
class Supervision:
    """What outlives one engine: the policies' counts and the records that failed."""

    settings: StreamsSettings
    """The application's settings (its policies)."""
    dead_letter_topic: str
    """Where failed records go."""
    dead_letter_partitions: int = 1
    """How many partitions it has (a record keeps its partition when it can)."""
    counts: FailureCounts = field(default_factory=FailureCounts)
    """What each policy took care of."""
    poisoned: _Bounded = field(default_factory=lambda: _Bounded(10_000))
    """Records to hand to a policy, not to the topology, when they come again: why, and how."""
    strikes: _Bounded = field(default_factory=lambda: _Bounded(10_000))
    """How many engines in a row each record brought down."""

    def struck(
        self, at: Coordinates, exc: BaseException, kind: FailureKind = FailureKind.PROCESSING
    ) -> None:
        """The engine died over the record ``at``: after enough times, it is poison.

        Args:
            at: The record's topic, partition and offset.
            exc: What brought the engine down.
            kind: The failure kind its policy is chosen by.
        """
        strikes = self.strikes.get(at, 0) + 1
        self.strikes[at] = strikes
        if strikes >= self.settings.poison_after_failures:
            self.poisoned[at] = (
                kind,
                f"it stopped the application {strikes} times: {type(exc).__name__}: {exc}",
            )
