"""Each group's lag over time, sampled at every log-end refresh and kept in memory.

Burrow keeps only the window it judges by; a chart needs more, so the monitor also records every
known group's lag each ``offset_refresh_s`` — the last ``history_points`` samples per group.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from kafka_kit.lag.store import GroupLag

__all__ = ["LagHistory", "LagPoint"]


@dataclass(frozen=True)
class LagPoint:
    """A group's lag at one moment: the total and each partition's."""

    at_ms: int
    """When (epoch ms)."""
    total: int
    """The group's total lag."""
    partitions: dict[tuple[str, int], int]
    """Lag per ``(topic, partition)``."""


class LagHistory:
    """The last ``points`` lag samples of every group.

    Args:
        points: Samples kept per group (oldest dropped first).
    """

    def __init__(self, points: int = 360) -> None:
        self.points = points
        self._series: dict[str, deque[LagPoint]] = {}

    def record(self, at_ms: int, lags: Iterable[GroupLag]) -> None:
        """Add one sample per group; groups not given any more are forgotten.

        Args:
            at_ms: When the sample was taken (epoch ms).
            lags: Every group's lag now.
        """
        seen = set()
        for lag in lags:
            seen.add(lag.group)
            series = self._series.setdefault(lag.group, deque(maxlen=self.points))
            by_partition = {(p.topic, p.partition): p.lag for p in lag.partitions}
            series.append(LagPoint(at_ms, lag.total_lag, by_partition))
        for gone in set(self._series) - seen:
            del self._series[gone]

    def series(self, group: str) -> list[LagPoint]:
        """The group's samples, oldest first (empty for a group never sampled).

        Args:
            group: The consumer group.
        """
        return list(self._series.get(group, ()))
