"""Burrow's evaluator: judge a partition by its window of commits, a group by its worst partition.

Ported rule for rule from Burrow 1.9.5 (``core/internal/evaluator/caching.go``). For a partition
whose current lag is above the allowed lag, in this order:

1. **STOP** — the time since the last commit is longer than the window spans (the consumer
   stopped committing), unless a recent log-end offset was at or below the last commit (it was
   caught up a moment ago: the last ``window`` log-end samples, one per ``offset_refresh_s``);
2. **REWIND** — a commit went backwards and no later commit got back to where it was;
3. only if no commit in the window was within the allowed lag: **STALL** — every commit is the
   same offset; **WARN** — the lag never went down between commits;
4. otherwise **OK**.

A group is the worst of its partitions, where STOP, STALL and REWIND count as ERR.
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
    "partition_rule",
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
    """The committed offset."""
    timestamp: int
    """When it was committed (epoch ms)."""
    lag: int | None
    """``None`` when no log-end offset was known at the commit (Burrow's nil lag)."""
    observed_at: int = 0
    """When it was read (epoch ms)."""
    order: int = 0
    """Where the commit sits in ``__consumer_offsets``: orders commits, drops re-reads."""


@dataclass(frozen=True)
class PartitionStatus:
    """A partition's evaluation."""

    topic: str
    """The partition's topic."""
    partition: int
    """The partition."""
    status: Status
    """Burrow's verdict for it (OK, WARN, STOP, STALL, REWIND)."""
    start: CommitSample | None
    """The oldest commit of its window."""
    end: CommitSample | None
    """The newest commit of its window."""
    current_lag: int
    """Log-end offset minus the last commit, now."""
    complete: float
    """How full its window is, 0 to 1."""
    owner: str = ""
    """The host of the member that owns it now (empty: unknown)."""
    client_id: str = ""
    """That member's client id."""


@dataclass(frozen=True)
class GroupStatus:
    """A group's evaluation."""

    cluster: str
    """The watched cluster's name."""
    group: str
    """The consumer group."""
    status: Status
    """Burrow's verdict: the worst of its partitions'."""
    complete: float
    """How full the windows are, 0 to 1 (Burrow's ``complete``)."""
    partitions: list[PartitionStatus]
    """Each partition's evaluation."""
    maxlag: PartitionStatus | None
    """The partition with the most lag now, if any."""

    @classmethod
    def not_found(cls, cluster: str, group: str) -> GroupStatus:
        """What Burrow answers for a group it does not know (or has expired).

        Args:
            cluster: The watched cluster's name.
            group: The group asked for.
        """
        return cls(cluster, group, Status.NOTFOUND, 1.0, [], None)

    @property
    def partition_count(self) -> int:
        """Every partition of every topic the group committed to, committed or not."""
        return len(self.partitions)

    @property
    def totallag(self) -> int:
        """The sum of the partitions' current lag."""
        return sum(p.current_lag for p in self.partitions)


def lag_always_above(samples: Sequence[CommitSample], allowed_lag: int) -> bool:
    """No commit in the window was within the allowed lag (commits of unknown lag are skipped)."""
    return not any(s.lag is not None and s.lag <= allowed_lag for s in samples)


def rewind_index(samples: Sequence[CommitSample]) -> int:
    """The index of the first commit below its predecessor, or -1."""
    for i in range(1, len(samples)):
        if samples[i].offset < samples[i - 1].offset:
            return i
    return -1


def rewind_recovered(samples: Sequence[CommitSample], index: int) -> bool:
    """A commit from ``index`` on got back to the offset committed just before the rewind."""
    before = samples[index - 1].offset
    return any(s.offset >= before for s in samples[index:])


def stopped(samples: Sequence[CommitSample], now_ms: int) -> bool:
    """The last commit is older than the window spans (Burrow's clock has whole seconds)."""
    first, last = samples[0].timestamp, samples[-1].timestamp
    return (now_ms // 1000 * 1000) - last > last - first


def stalled(samples: Sequence[CommitSample]) -> bool:
    """Every commit is the same offset."""
    return all(s.offset == samples[0].offset for s in samples)


def lag_not_decreasing(samples: Sequence[CommitSample]) -> bool:
    """The lag never went down from one commit of known lag to the next."""
    lags = [s.lag for s in samples if s.lag is not None]
    return all(later >= earlier for earlier, later in itertools.pairwise(lags))


def recent_lag_zero(samples: Sequence[CommitSample], log_ends: Sequence[int]) -> bool:
    """A recent log-end offset was at or below the last commit: caught up a moment ago."""
    last = samples[-1].offset
    return any(end <= last for end in log_ends)


def partition_rule(
    samples: Sequence[CommitSample],
    log_ends: Sequence[int],
    current_lag: int,
    now_ms: int,
    allowed_lag: int = 0,
) -> Status:
    """Burrow's ``calculatePartitionStatus`` over one window (oldest commit first).

    Args:
        samples: The window's commits, oldest first.
        log_ends: Recent log-end samples, oldest first.
        current_lag: Log end minus the last commit, now.
        now_ms: The time to judge at (epoch ms).
        allowed_lag: Lag up to this counts as none.
    """
    if not samples or current_lag <= allowed_lag:
        return Status.OK
    # STOP first: a dead consumer's old window may well show lag 0 somewhere.
    if stopped(samples, now_ms) and not recent_lag_zero(samples, log_ends):
        return Status.STOP
    # A rewind counts only until the group is back where it was (rebalances re-commit old
    # offsets), and before the lag-zero rule: a rewind to earliest often follows lag 0.
    index = rewind_index(samples)
    if index > 0 and not rewind_recovered(samples, index):
        return Status.REWIND
    if lag_always_above(samples, allowed_lag):
        if stalled(samples):
            return Status.STALL
        if lag_not_decreasing(samples):
            return Status.WARN
    return Status.OK


def evaluate_partition(
    topic: str,
    partition: int,
    slots: Sequence[CommitSample | None],
    log_ends: Sequence[int],
    *,
    current_lag: int,
    now_ms: int,
    allowed_lag: int = 0,
    minimum_complete: float = 0.0,
    owner: str = "",
    client_id: str = "",
) -> PartitionStatus:
    """Burrow's ``evaluatePartitionStatus``: ``slots`` is the window, empty slots (``None``) first.

    A partition without a window (``slots`` empty) is OK with completeness 0; one whose window
    is shorter than ``minimum_complete`` is OK without being judged.

    Args:
        topic: The partition's topic.
        partition: The partition.
        slots: The commit window.
        log_ends: Recent log-end samples, oldest first.
        current_lag: Log end minus the last commit, now.
        now_ms: The time to judge at (epoch ms).
        allowed_lag: Lag up to this counts as none.
        minimum_complete: Windows less full than this are not judged.
        owner: The owning member's host.
        client_id: The owning member's client id.
    """
    if not slots:
        return PartitionStatus(topic, partition, Status.OK, None, None, current_lag, 0.0, owner,
                               client_id)  # fmt: skip
    # As Burrow slices: from the first filled slot, or the last slot if none is filled (so an
    # empty window counts as one slot complete — kept to report what Burrow reports).
    first = next((i for i, s in enumerate(slots) if s is not None), len(slots) - 1)
    window = slots[first:]
    complete = len(window) / len(slots) if len(window) < len(slots) else 1.0
    samples = [s for s in window if s is not None]
    status = Status.OK
    if samples and complete >= minimum_complete:
        status = partition_rule(samples, log_ends, current_lag, now_ms, allowed_lag)
    return PartitionStatus(
        topic=topic,
        partition=partition,
        status=status,
        start=window[0],
        end=window[-1],
        current_lag=current_lag,
        complete=complete,
        owner=owner,
        client_id=client_id,
    )


def evaluate_group(cluster: str, group: str, partitions: list[PartitionStatus]) -> GroupStatus:
    """The worst partition status (capped at ERR), completeness, the partition lagging most.

    Args:
        cluster: The watched cluster's name.
        group: The consumer group.
        partitions: Each partition's evaluation.
    """
    worst = max((p.status for p in partitions), default=Status.OK)
    complete = sum(p.complete == 1.0 for p in partitions) / len(partitions) if partitions else 0.0
    maxlag: PartitionStatus | None = None
    for p in partitions:
        if maxlag is None or p.current_lag > maxlag.current_lag:
            maxlag = p
    return GroupStatus(
        cluster=cluster,
        group=group,
        status=min(worst, Status.ERR),
        complete=complete,
        partitions=partitions,
        maxlag=maxlag,
    )
