"""What a container remembers about its partitions between polls — pure state, no Kafka.

Offsets handled and not committed yet; how often a record failed; which partitions back off
until when; which were revoked in a rebalance; which records a transactional listener recovered
whose offsets the next transaction commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from aiokafka.structs import ConsumerRecord, TopicPartition

__all__ = ["PartitionTracker"]

Record = ConsumerRecord[bytes, bytes]
Position = tuple[TopicPartition, int]


class PartitionTracker:
    """Pending offsets, attempts, back-offs, revocations of one consumer's partitions."""

    def __init__(self) -> None:
        self.pending: dict[TopicPartition, int] = {}
        """Per partition, the next offset to commit (the last handled record's offset + 1)."""
        self.uncommitted = 0
        """Records handled since the last commit."""
        self.attempts: dict[Position, int] = {}
        self.backoff_until: dict[TopicPartition, float] = {}
        """Partitions paused after a failure or for a record not due yet, until a monotonic time."""
        self.revoked: set[TopicPartition] = set()
        self.resolved_in_transaction: set[Position] = set()
        """Records recovered after a rollback: skipped when redelivered, their offsets
        committed by the next transaction."""

    def reset(self) -> None:
        """Forget everything (a new consumer)."""
        self.pending.clear()
        self.uncommitted = 0
        self.attempts.clear()
        self.backoff_until.clear()
        self.revoked.clear()
        self.resolved_in_transaction.clear()

    # ---------------------------------------------------------------- offsets
    def mark_handled(self, records: Sequence[Record]) -> None:
        """These records are done: their offsets may be committed.

        Args:
            records: Records that are done.
        """
        pending = self.pending
        for record in records:
            tp = TopicPartition(record.topic, record.partition)
            if record.offset + 1 > pending.get(tp, -1):
                pending[tp] = record.offset + 1
        self.uncommitted += len(records)

    def take_pending(self) -> dict[TopicPartition, int]:
        """The offsets to commit now; forgotten here (a failed commit redelivers them)."""
        pending, self.pending = self.pending, {}
        self.uncommitted = 0
        return pending

    # ---------------------------------------------------------------- failures
    def next_attempt(self, record: Record) -> int:
        """Count a failed delivery of ``record``; the count so far, from 1.

        Args:
            record: The record that failed.
        """
        position = (TopicPartition(record.topic, record.partition), record.offset)
        attempt = self.attempts.get(position, 0) + 1
        self.attempts[position] = attempt
        return attempt

    def forget_attempts(self, records: Iterable[Record]) -> None:
        """These records are done: their failed deliveries no longer count.

        Args:
            records: Records that are done.
        """
        if self.attempts:
            for record in records:
                self.attempts.pop(
                    (TopicPartition(record.topic, record.partition), record.offset), None
                )

    def back_off(self, partitions: Iterable[TopicPartition], until: float) -> None:
        """Hold ``partitions`` until the monotonic time ``until``.

        Args:
            partitions: Partitions to hold.
            until: Monotonic seconds.
        """
        for tp in partitions:
            self.backoff_until[tp] = until

    def blocked(self, tp: TopicPartition) -> bool:
        """Whether records of ``tp`` must not be handled now (revoked, or backing off).

        Args:
            tp: A partition.
        """
        return tp in self.revoked or tp in self.backoff_until

    def due(self, now: float) -> list[TopicPartition]:
        """Partitions whose back-off ended by ``now`` (no longer held).

        Args:
            now: Monotonic seconds.
        """
        due = [tp for tp, until in self.backoff_until.items() if until <= now]
        for tp in due:
            del self.backoff_until[tp]
        return due

    def wait_s(self, now: float, longest: float) -> float:
        """How long a poll may wait without missing the end of a back-off.

        Args:
            now: Monotonic seconds.
            longest: The poll's own longest wait.
        """
        if not self.backoff_until:
            return longest
        return max(0.0, min(longest, min(self.backoff_until.values()) - now))

    # ---------------------------------------------------------------- partitions come and go
    def revoke(self, partitions: Iterable[TopicPartition]) -> None:
        """``partitions`` went to another consumer: nothing more of theirs is handled here.

        Args:
            partitions: Partitions revoked.
        """
        gone = set(partitions)
        self.revoked |= gone
        self._forget(gone)

    def assign(self, partitions: Iterable[TopicPartition]) -> None:
        """``partitions`` are this consumer's (again).

        Args:
            partitions: Partitions assigned.
        """
        self.revoked -= set(partitions)

    def moved(self, partitions: Iterable[TopicPartition]) -> None:
        """A seek moved ``partitions``: their back-offs and failure counts no longer apply.

        Args:
            partitions: Partitions a seek moved.
        """
        self._forget(set(partitions))

    def _forget(self, partitions: set[TopicPartition]) -> None:
        for tp in partitions:
            self.backoff_until.pop(tp, None)
        self.attempts = {k: v for k, v in self.attempts.items() if k[0] not in partitions}
        self.resolved_in_transaction = {
            k for k in self.resolved_in_transaction if k[0] not in partitions
        }
