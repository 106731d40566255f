"""Per cluster: each group's window of commits per partition, and log-end offsets."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace

from kafka_kit.lag.evaluator import CommitSample, GroupStatus, evaluate_group, evaluate_partition

__all__ = ["GroupLag", "LagStore", "PartitionLag"]


TopicPartition = tuple[str, int]

UNKNOWN_LAG = -1
"""A commit's lag before any log-end offset of its partition was seen (counts as caught up)."""


@dataclass
class PartitionWindow:
    """The last commits of one group on one partition, and who owns the partition now."""

    samples: deque[CommitSample]
    owner: str = ""
    client_id: str = ""


@dataclass(frozen=True)
class PartitionLag:
    """Log-end offset, committed offset and lag of one partition for one group."""

    topic: str
    partition: int
    log_end_offset: int | None
    committed_offset: int
    lag: int


@dataclass
class GroupLag:
    """A group's lag per partition, with totals per topic and for the group."""

    group: str
    partitions: list[PartitionLag] = field(default_factory=list)

    @property
    def total_lag(self) -> int:
        """Sum over every partition."""
        return sum(p.lag for p in self.partitions)

    @property
    def lag_by_topic(self) -> dict[str, int]:
        """Sum per topic."""
        totals: dict[str, int] = {}
        for p in self.partitions:
            totals[p.topic] = totals.get(p.topic, 0) + p.lag
        return totals


class LagStore:
    """What Burrow's storage module keeps: windows of commits and broker offsets."""

    def __init__(self, window: int = 10, min_distance_ms: int = 1000) -> None:
        self.window = window
        self.min_distance_ms = min_distance_ms
        self.log_end: dict[TopicPartition, int] = {}
        self.groups: dict[str, dict[TopicPartition, PartitionWindow]] = {}

    def add_commit(
        self,
        group: str,
        topic: str,
        partition: int,
        *,
        offset: int,
        timestamp: int,
        observed_at: int,
    ) -> None:
        """Record a commit; one closer than ``min_distance_ms`` to the last replaces it."""
        windows = self.groups.setdefault(group, {})
        entry = windows.get((topic, partition))
        if entry is None:
            entry = windows[(topic, partition)] = PartitionWindow(deque(maxlen=self.window))
        end = self.log_end.get((topic, partition))
        lag = max(0, end - offset) if end is not None else UNKNOWN_LAG
        sample = CommitSample(offset, timestamp, lag, observed_at)
        samples = entry.samples
        if samples and timestamp - samples[-1].timestamp < self.min_distance_ms:
            samples[-1] = sample
        else:
            samples.append(sample)

    def delete_commit(self, group: str, topic: str, partition: int) -> None:
        """The group's offset for the partition is gone (a tombstone)."""
        windows = self.groups.get(group, {})
        windows.pop((topic, partition), None)
        if not windows:
            self.groups.pop(group, None)

    def set_log_end(self, topic: str, partition: int, offset: int) -> None:
        """The latest known log-end offset (high watermark) of a partition.

        Commits seen before any log-end offset was known get their lag from this first one.
        """
        first = (topic, partition) not in self.log_end
        self.log_end[(topic, partition)] = offset
        if not first:
            return
        for windows in self.groups.values():
            entry = windows.get((topic, partition))
            if entry is not None:
                entry.samples = deque(
                    (
                        replace(s, lag=max(0, offset - s.offset)) if s.lag == UNKNOWN_LAG else s
                        for s in entry.samples
                    ),
                    maxlen=self.window,
                )

    def set_owners(self, group: str, owners: dict[TopicPartition, tuple[str, str]]) -> None:
        """Who consumes each partition now: ``(host, client id)``; others get none."""
        for tp, entry in self.groups.get(group, {}).items():
            entry.owner, entry.client_id = owners.get(tp, ("", ""))

    def expire(self, older_than_ms: int) -> list[str]:
        """Forget groups whose newest commit is older than ``older_than_ms``."""
        gone = [
            group
            for group, windows in self.groups.items()
            if all(w.samples[-1].timestamp < older_than_ms for w in windows.values() if w.samples)
        ]
        for group in gone:
            del self.groups[group]
        return gone

    def topics_in_use(self) -> set[str]:
        """Topics some group has committed offsets for."""
        return {topic for windows in self.groups.values() for topic, _ in windows}

    def current_lag(self, group: str, topic: str, partition: int) -> int:
        """Log-end offset minus the last committed offset (0 when either is unknown)."""
        entry = self.groups.get(group, {}).get((topic, partition))
        end = self.log_end.get((topic, partition))
        if entry is None or not entry.samples or end is None:
            return 0
        return max(0, end - entry.samples[-1].offset)

    def group_lag(self, group: str) -> GroupLag:
        """Log-end, committed and lag for each partition of ``group``."""
        report = GroupLag(group)
        for (topic, partition), entry in sorted(self.groups.get(group, {}).items()):
            if entry.samples:
                report.partitions.append(
                    PartitionLag(
                        topic=topic,
                        partition=partition,
                        log_end_offset=self.log_end.get((topic, partition)),
                        committed_offset=entry.samples[-1].offset,
                        lag=self.current_lag(group, topic, partition),
                    )
                )
        return report

    def evaluate(self, cluster: str, group: str, now_ms: int, allowed_lag: int = 0) -> GroupStatus:
        """The group's Burrow status now."""
        partitions = [
            evaluate_partition(
                topic,
                partition,
                list(entry.samples),
                self.window,
                current_lag=self.current_lag(group, topic, partition),
                now_ms=now_ms,
                allowed_lag=allowed_lag,
                owner=entry.owner,
                client_id=entry.client_id,
            )
            for (topic, partition), entry in sorted(self.groups.get(group, {}).items())
        ]
        return evaluate_group(cluster, group, partitions)
