"""Per cluster: each group's window of commits per partition, and recent log-end offsets.

Burrow 1.9.5's storage rules (``core/internal/storage/inmemory.go``): a commit is kept only for
a topic whose log-end offsets have been sampled (its lag needs one); its lag is taken against the
latest log-end sample; a commit closer than ``min_distance_ms`` to the window's last one replaces
it but keeps the earlier timestamp; the first commit to a topic gives the group every partition
of that topic (those without commits show an empty window). Log-end offsets keep a ring of the
last ``window`` samples per partition, which the STOP rule reads.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from kafka_kit.lag.evaluator import CommitSample, GroupStatus, evaluate_group, evaluate_partition

__all__ = ["GroupLag", "LagStore", "PartitionLag"]


@dataclass
class PartitionWindow:
    """A group's last commits on one partition, and who owns the partition now."""

    samples: deque[CommitSample] | None = None
    """``None`` until the partition's first commit or owner (then Burrow gives it a window)."""
    owner: str = ""
    client_id: str = ""


@dataclass
class GroupWindows:
    """Everything kept for one group: per topic, a window per partition."""

    topics: dict[str, list[PartitionWindow]] = field(default_factory=dict)
    last_commit: int = 0
    """Commit timestamp (ms) of the group's newest commit; 0: members seen, never a commit."""
    members: int = 0
    """Members the group had at the last look, assigned something or not."""


@dataclass(frozen=True)
class PartitionLag:
    """Log-end offset, committed offset and lag of one partition for one group."""

    topic: str
    """The partition's topic."""
    partition: int
    """The partition."""
    log_end_offset: int | None
    """Its latest log-end sample (``None``: none yet)."""
    committed_offset: int
    """The group's last commit."""
    lag: int
    """Log-end minus committed (0 when either is unknown)."""


@dataclass
class GroupLag:
    """A group's lag per partition, with totals per topic and for the group."""

    group: str
    """The consumer group."""
    partitions: list[PartitionLag] = field(default_factory=list)
    """Each partition it committed to."""

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
    """What Burrow's storage module keeps for one cluster.

    Args:
        window: Commits kept per partition (Burrow's ``intervals``).
        min_distance_ms: A commit closer than this to the one before replaces it (Burrow's ``min-
            distance``).
        expire_group_ms: A group without a commit for this long is forgotten (Burrow's ``expire-
            group``).
    """

    def __init__(
        self, window: int = 10, min_distance_ms: int = 0, expire_group_ms: int = 604_800_000
    ) -> None:
        self.window = window
        self.min_distance_ms = min_distance_ms
        self.expire_group_ms = expire_group_ms
        self.log_ends: dict[str, list[deque[int]]] = {}
        self.groups: dict[str, GroupWindows] = {}

    # ------------------------------------------------------------------ log-end offsets
    def set_log_end(self, topic: str, partition: int, offset: int, partition_count: int) -> None:
        """A new log-end sample (high watermark) of a partition of a ``partition_count`` topic.

        Args:
            topic: The partition's topic.
            partition: The partition.
            offset: Its log-end offset (high watermark) now.
            partition_count: How many partitions the topic has now (a sample ring is kept for
                each).
        """
        rings = self.log_ends.setdefault(topic, [])
        while len(rings) < partition_count:
            rings.append(deque(maxlen=self.window))
        rings[partition].append(offset)

    def delete_topic(self, topic: str) -> None:
        """The topic is gone: from the cluster and from every group.

        Args:
            topic: The deleted topic.
        """
        self.log_ends.pop(topic, None)
        for group in self.groups.values():
            group.topics.pop(topic, None)

    def topics(self) -> list[str]:
        """Every sampled topic, internal ones included (as Burrow lists them)."""
        return sorted(self.log_ends)

    def latest_log_ends(self, topic: str) -> list[int] | None:
        """The latest log-end sample of each partition, or ``None`` for an unknown topic.

        Args:
            topic: The topic.
        """
        rings = self.log_ends.get(topic)
        return None if rings is None else [ring[-1] for ring in rings if ring]

    def _latest_log_end(self, topic: str, partition: int) -> int | None:
        rings = self.log_ends.get(topic)
        if rings is None or partition >= len(rings) or not rings[partition]:
            return None
        return rings[partition][-1]

    # ------------------------------------------------------------------ commits
    def add_commit(
        self,
        group: str,
        topic: str,
        partition: int,
        *,
        offset: int,
        timestamp: int,
        order: int,
        observed_at: int,
    ) -> bool:
        """Record a commit the way Burrow stores it; ``False`` if it was dropped.

        Args:
            group: The consumer group.
            topic: The partition's topic.
            partition: The partition.
            offset: The committed offset.
            timestamp: When it was committed (epoch ms).
            order: Its position in ``__consumer_offsets``: an older commit read late is dropped.
            observed_at: When it was read (epoch ms).
        """
        if timestamp < observed_at - self.expire_group_ms:
            return False  # older than any group is kept
        end = self._latest_log_end(topic, partition)
        if end is None:
            return False  # no log-end sample yet: its lag is unknown
        entry = self._window(group, topic, partition)
        samples = entry.samples
        assert samples is not None
        if samples and samples[-1].order >= order:
            return False  # read before (the reader resumed behind this point)
        self.groups[group].last_commit = timestamp
        sample = CommitSample(offset, timestamp, max(0, end - offset), observed_at, order)
        if samples and timestamp - samples[-1].timestamp < self.min_distance_ms:
            # Too close to the last one: it takes the new offset and lag, keeps its timestamp.
            kept = samples[-1].timestamp
            samples[-1] = CommitSample(offset, kept, sample.lag, observed_at, order)
        else:
            samples.append(sample)
        return True

    def _window(self, group: str, topic: str, partition: int) -> PartitionWindow:
        """The group's window for the partition; every partition of the topic gets an entry."""
        windows = self.groups.setdefault(group, GroupWindows())
        partitions = windows.topics.setdefault(topic, [])
        count = len(self.log_ends.get(topic, ()))
        while len(partitions) < max(count, partition + 1):
            partitions.append(PartitionWindow())
        entry = partitions[partition]
        if entry.samples is None:
            entry.samples = deque(maxlen=self.window)
        return entry

    def delete_group(self, group: str) -> None:
        """The group itself was deleted (its metadata tombstone).

        Args:
            group: The deleted group.
        """
        self.groups.pop(group, None)

    # ------------------------------------------------------------------ owners
    def set_owners(
        self,
        group: str,
        owners: dict[tuple[str, int], tuple[str, str]],
        members: int | None = None,
    ) -> None:
        """Who consumes each partition now: ``(host, client id)``; a group's members make it known.

        ``members`` (default: the owners' count): how many the group has, including those
        assigned nothing yet — a group with members is listed even before it commits or owns a
        sampled partition (Burrow creates the group on its first owner, sampled or not).
        Partitions of topics never sampled get no owner, as Burrow skips them.

        Args:
            group: The consumer group.
            owners: ``(topic, partition) -> (host, client id)`` of the member that owns it.
            members: How many members the group has (any: the group is known, even before a commit).
        """
        count = len({client for _, client in owners.values()}) if members is None else members
        known = self.groups.get(group)
        if known is None and count > 0:
            known = self.groups[group] = GroupWindows()
        if known is not None:
            known.members = count
            for partitions in known.topics.values():
                for entry in partitions:
                    entry.owner = entry.client_id = ""
        for (topic, partition), (host, client_id) in owners.items():
            if self._latest_log_end(topic, partition) is None:
                continue
            entry = self._window(group, topic, partition)
            entry.owner, entry.client_id = host, client_id

    # ------------------------------------------------------------------ queries
    def expired(self, group: str, now_ms: int) -> bool:
        """Unknown, never committed, or no commit within ``expire_group_ms`` (Burrow: NOTFOUND).

        Args:
            group: The consumer group.
            now_ms: The time now (epoch ms).
        """
        windows = self.groups.get(group)
        if windows is None or not windows.last_commit:
            return True
        return windows.last_commit < now_ms - self.expire_group_ms

    def expire(self, now_ms: int) -> list[str]:
        """Forget groups without a recent commit that nobody consumes for any more.

        Args:
            now_ms: The time now (epoch ms).
        """
        gone = [
            name
            for name, windows in self.groups.items()
            if self.expired(name, now_ms)
            and not windows.members
            and not any(e.owner for ps in windows.topics.values() for e in ps)
        ]
        for name in gone:
            del self.groups[name]
        return gone

    def consumers_of(self, topic: str) -> list[str]:
        """Groups that have the topic.

        Args:
            topic: The topic.
        """
        return sorted(name for name, windows in self.groups.items() if topic in windows.topics)

    def slots(self, group: str, topic: str, partition: int) -> list[CommitSample | None]:
        """The window as Burrow shows it: ``window`` slots, empty ones first; none if no window.

        Args:
            group: The consumer group.
            topic: The partition's topic.
            partition: The partition.
        """
        entry = self.groups[group].topics[topic][partition]
        if entry.samples is None:
            return []
        return [None] * (self.window - len(entry.samples)) + list(entry.samples)

    def log_end_history(self, topic: str, partition: int) -> list[int]:
        """The partition's recent log-end samples, oldest first.

        Args:
            topic: The partition's topic.
            partition: The partition.
        """
        rings = self.log_ends.get(topic)
        return list(rings[partition]) if rings and partition < len(rings) else []

    def current_lag(self, group: str, topic: str, partition: int) -> int:
        """Latest log-end sample minus the last commit (0 when either is unknown).

        Args:
            group: The consumer group.
            topic: The partition's topic.
            partition: The partition.
        """
        entry = self.groups[group].topics[topic][partition]
        end = self._latest_log_end(topic, partition)
        if not entry.samples or end is None:
            return 0
        return max(0, end - entry.samples[-1].offset)

    def partitions(self, group: str) -> list[tuple[str, int, PartitionWindow]]:
        """Every partition the group has, sorted.

        Args:
            group: The consumer group.
        """
        windows = self.groups.get(group)
        if windows is None:
            return []
        return [
            (topic, partition, entry)
            for topic in sorted(windows.topics)
            for partition, entry in enumerate(windows.topics[topic])
        ]

    def group_lag(self, group: str) -> GroupLag:
        """Log-end, committed and lag for each partition ``group`` committed to.

        Args:
            group: The consumer group.
        """
        report = GroupLag(group)
        for topic, partition, entry in self.partitions(group):
            if entry.samples:
                report.partitions.append(
                    PartitionLag(
                        topic=topic,
                        partition=partition,
                        log_end_offset=self._latest_log_end(topic, partition),
                        committed_offset=entry.samples[-1].offset,
                        lag=self.current_lag(group, topic, partition),
                    )
                )
        return report

    def evaluate(
        self,
        cluster: str,
        group: str,
        now_ms: int,
        allowed_lag: int = 0,
        minimum_complete: float = 0.0,
    ) -> GroupStatus:
        """The group's Burrow status now (NOTFOUND when unknown or expired).

        Args:
            cluster: The cluster's name, for the answer.
            group: The consumer group.
            now_ms: The time to judge at (epoch ms).
            allowed_lag: Lag up to this counts as none (Burrow's rule 1).
            minimum_complete: Windows less full than this are not judged (Burrow's ``minimum-
                complete``).
        """
        if self.expired(group, now_ms):
            return GroupStatus.not_found(cluster, group)
        partitions = [
            evaluate_partition(
                topic,
                partition,
                self.slots(group, topic, partition),
                self.log_end_history(topic, partition),
                current_lag=self.current_lag(group, topic, partition),
                now_ms=now_ms,
                allowed_lag=allowed_lag,
                minimum_complete=minimum_complete,
                owner=entry.owner,
                client_id=entry.client_id,
            )
            for topic, partition, entry in self.partitions(group)
        ]
        return evaluate_group(cluster, group, partitions)
