"""When a container commits: the ack mode's rule, given what is pending."""

from __future__ import annotations

from dataclasses import dataclass

from kafka_kit.ack import AckMode

__all__ = ["CommitPolicy"]


@dataclass(frozen=True)
class CommitPolicy:
    """Spring's ack modes as a rule: is a commit due now?"""

    ack_mode: AckMode
    ack_count: int = 100
    ack_time_s: float = 5.0

    @property
    def checked_per_record(self) -> bool:
        """Whether a commit may be due after a single record (not only at the end of a poll)."""
        return self.ack_mode not in (AckMode.BATCH, AckMode.MANUAL)

    def due(
        self, *, pending: bool, uncommitted: int, since_commit_s: float, end_of_poll: bool
    ) -> bool:
        """Whether to commit now; ``pending``: some offset waits to be committed."""
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
