"""When and how a container commits: the ack mode's rule, and the commit itself."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import CommitFailedError, IllegalGenerationError, RebalanceInProgressError
from aiokafka.structs import OffsetAndMetadata

from kafka_kit.ack import AckMode
from kafka_kit.listener.tracker import PartitionTracker
from kafka_kit.status import ContainerMetrics

__all__ = ["CommitPolicy", "OffsetCommitter"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CommitPolicy:
    """Spring's ack modes as a rule: is a commit due now?"""

    ack_mode: AckMode
    """When offsets are committed."""
    ack_count: int = 100
    """With ``count`` modes: records per commit."""
    ack_time_s: float = 5.0
    """With ``time`` modes: seconds between commits."""

    @property
    def checked_per_record(self) -> bool:
        """Whether a commit may be due after a single record (not only at the end of a poll)."""
        return self.ack_mode not in (AckMode.BATCH, AckMode.MANUAL)

    def due(
        self, *, pending: bool, uncommitted: int, since_commit_s: float, end_of_poll: bool
    ) -> bool:
        """Whether to commit now; ``pending``: some offset waits to be committed.

        Args:
            pending: Some offset waits to be committed.
            uncommitted: Records handled since the last commit.
            since_commit_s: Seconds since the last commit.
            end_of_poll: The poll's records were all handled.
        """
        if not pending:
            return False
        count_due = uncommitted >= self.ack_count
        time_due = since_commit_s >= self.ack_time_s
        match self.ack_mode:
            case AckMode.RECORD | AckMode.MANUAL_IMMEDIATE:
                return True
            case AckMode.BATCH | AckMode.MANUAL:
                return end_of_poll
            case AckMode.COUNT:
                return count_due
            case AckMode.TIME:
                return time_due
            case AckMode.COUNT_TIME:
                return count_due or time_due
        return False


class OffsetCommitter:
    """Commits what a container's tracker says was handled, when its policy says so.

    Args:
        policy: When to commit.
        tracker: Which offsets may be committed.
        metrics: Counts the commits.
        group_id: The consumer group (``None``: nothing to commit to).
        client_id: The consumer's, for log lines.
    """

    def __init__(
        self,
        policy: CommitPolicy,
        tracker: PartitionTracker,
        metrics: ContainerMetrics,
        *,
        group_id: str | None,
        client_id: str,
    ) -> None:
        self.policy = policy
        self.tracker = tracker
        self.metrics = metrics
        self.group_id = group_id
        self.client_id = client_id
        self._last_commit = time.monotonic()

    def due(self, *, end_of_poll: bool) -> bool:
        """Whether the policy wants a commit now.

        Args:
            end_of_poll: The poll's records were all handled.
        """
        return self.policy.due(
            pending=bool(self.tracker.pending),
            uncommitted=self.tracker.uncommitted,
            since_commit_s=time.monotonic() - self._last_commit,
            end_of_poll=end_of_poll,
        )

    async def commit_if_due(self, consumer: AIOKafkaConsumer) -> None:
        """Commit when a commit is due after a single record.

        Args:
            consumer: The container's consumer.
        """
        if self.due(end_of_poll=False):
            await self.commit(consumer)

    async def commit(self, consumer: AIOKafkaConsumer) -> None:
        """Commit every pending offset (without a group there is nothing to commit to).

        Args:
            consumer: The container's consumer.
        """
        pending = self.tracker.take_pending()
        if not pending or self.group_id is None:
            return
        self._last_commit = time.monotonic()
        offsets = {tp: OffsetAndMetadata(offset, "") for tp, offset in pending.items()}
        try:
            await consumer.commit(offsets)
        except (CommitFailedError, IllegalGenerationError, RebalanceInProgressError) as exc:
            # The group moved on without us (e.g. a handler outlasted max.poll.interval.ms):
            # the partitions' new owners get these records again. At-least-once, not a crash.
            log.warning("listener %s: commit refused after a rebalance: %r", self.client_id, exc)
            return
        self.metrics.commits += 1

    async def commit_quietly(self, consumer: AIOKafkaConsumer, when: str) -> None:
        """Commit; a failure is only logged: the records are delivered again (at-least-once).

        Args:
            consumer: The container's consumer.
            when: What is happening, for the log line (``on revoke``…).
        """
        try:
            await self.commit(consumer)
        except Exception as exc:  # noqa: BLE001 - redelivered, not lost
            log.warning("listener %s: commit %s failed: %r", self.client_id, when, exc)
