"""Burrow's rules: judge a partition by the window of its last commits, a group by its worst.

For a partition whose lag is above the allowed lag now and at every commit in the window:
REWIND if the committed offset ever went backwards; STOP if the time since the last commit is
longer than the window spans (the consumer stopped committing); STALL if every commit is the same
offset (committing without progress); WARN if the lag never decreased (a slow consumer falling
behind). Otherwise — including whenever the lag touched the allowed lag — OK. A group is the worst
of its partitions, where STOP, STALL and REWIND count as ERR.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

__all__ = [
    "CommitSample",
    "GroupStatus",
    "PartitionStatus",
    "Status",
    "evaluate_group",
    "evaluate_partition",
]


class Status(IntEnum):
    """Burrow's status constants, in order of severity."""

    NOTFOUND = 0
    OK = 1
    WARN = 2
    ERR = 3
    STOP = 4
    STALL = 5
    REWIND = 6


@dataclass(frozen=True)
class CommitSample:
    """One commit in a window: the offset, when it was committed (ms), and the lag then."""

    offset: int
    timestamp: int
    lag: int
    observed_at: int = 0


@dataclass(frozen=True)
class PartitionStatus:
    """A partition's evaluation."""

    topic: str
    partition: int
    status: Status
    start: CommitSample | None
    end: CommitSample | None
    current_lag: int
    complete: float
    owner: str = ""
    client_id: str = ""


@dataclass(frozen=True)
class GroupStatus:
    """A group's evaluation."""

    cluster: str
    group: str
    status: Status
    complete: float
    partitions: list[PartitionStatus]
    maxlag: PartitionStatus | None

    @property
    def partition_count(self) -> int:
        """How many partitions the group has committed offsets for."""
        return len(self.partitions)

    @property
    def totallag(self) -> int:
        """The sum of the partitions' current lag."""
        return sum(p.current_lag for p in self.partitions)


def partition_rule(
    samples: Sequence[CommitSample], current_lag: int, now_ms: int, allowed_lag: int = 0
) -> Status:
    """Apply the rules to one window (oldest commit first)."""
    if not samples or current_lag <= allowed_lag:
        return Status.OK
    if any(s.lag <= allowed_lag for s in samples):
        return Status.OK  # it caught up inside the window
    offsets = [s.offset for s in samples]
    if any(later < earlier for earlier, later in itertools.pairwise(offsets)):
        return Status.REWIND
    first, last = samples[0].timestamp, samples[-1].timestamp
    if now_ms - last > last - first:
        return Status.STOP
    if len(set(offsets)) == 1:
        return Status.STALL
    lags = [s.lag for s in samples]
    if all(later >= earlier for earlier, later in itertools.pairwise(lags)):
        return Status.WARN
    return Status.OK


def evaluate_partition(
    topic: str,
    partition: int,
    samples: Sequence[CommitSample],
    window: int,
    *,
    current_lag: int,
    now_ms: int,
    allowed_lag: int = 0,
    owner: str = "",
    client_id: str = "",
) -> PartitionStatus:
    """A partition's status, with the window's first and last commit and its completeness."""
    return PartitionStatus(
        topic=topic,
        partition=partition,
        status=partition_rule(samples, current_lag, now_ms, allowed_lag),
        start=samples[0] if samples else None,
        end=samples[-1] if samples else None,
        current_lag=current_lag,
        complete=min(1.0, len(samples) / window) if window else 1.0,
        owner=owner,
        client_id=client_id,
    )


def evaluate_group(cluster: str, group: str, partitions: list[PartitionStatus]) -> GroupStatus:
    """The worst partition status (capped at ERR), completeness, the partition lagging most."""
    worst = max((p.status for p in partitions), default=Status.OK)
    complete = sum(p.complete >= 1.0 for p in partitions) / len(partitions) if partitions else 1.0
    maxlag = max(partitions, key=lambda p: p.current_lag, default=None)
    return GroupStatus(
        cluster=cluster,
        group=group,
        status=min(worst, Status.ERR),
        complete=complete,
        partitions=partitions,
        maxlag=maxlag,
    )
