"""When a container commits offsets (``AckMode``) and the handle for manual acks."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

__all__ = ["AckMode", "Acknowledgment"]


class AckMode(StrEnum):
    """Spring's ack modes: when handled records' offsets are committed."""

    RECORD = "record"
    """After each record's handler returned."""
    BATCH = "batch"
    """After all records of a poll were handled (the default)."""
    COUNT = "count"
    """When ``ack_count`` records were handled since the last commit."""
    TIME = "time"
    """When ``ack_time_s`` passed since the last commit."""
    COUNT_TIME = "count_time"
    """Whichever of COUNT and TIME comes first."""
    MANUAL = "manual"
    """Only acknowledged records, committed after the poll's records were handled."""
    MANUAL_IMMEDIATE = "manual_immediate"
    """Only acknowledged records, committed as soon as their handler returns."""

    @property
    def manual(self) -> bool:
        """Whether the handler must call ``Acknowledgment.acknowledge()``."""
        return self in (AckMode.MANUAL, AckMode.MANUAL_IMMEDIATE)


class Acknowledgment:
    """Given to handlers in manual ack modes: ``acknowledge()`` marks the record(s) committable.

    Args:
        on_acknowledge: Called once, at the first ``acknowledge()`` (the container marks the
            record or batch committable).
    """

    __slots__ = ("_acknowledged", "_on_acknowledge")

    def __init__(self, on_acknowledge: Callable[[], None]) -> None:
        self._on_acknowledge = on_acknowledge
        self._acknowledged = False

    def acknowledge(self) -> None:
        """Mark this record (for a batch listener: every record of the batch) as processed."""
        if not self._acknowledged:
            self._acknowledged = True
            self._on_acknowledge()

    @property
    def acknowledged(self) -> bool:
        """Whether :meth:`acknowledge` was called."""
        return self._acknowledged
