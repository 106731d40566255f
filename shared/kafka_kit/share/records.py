"""What a share-group handler receives: the record with its delivery count, and the
acknowledgment that accepts, releases or rejects it (value types; they import nothing of ours
but the acknowledgment they extend)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

from aiokafka.structs import ConsumerRecord

from kafka_kit.ack import Acknowledgment

__all__ = ["AcknowledgeType", "ShareAcknowledgment", "ShareRecord"]


class AcknowledgeType(IntEnum):
    """How a share-group member ends its hold on a record (the protocol's numbers)."""

    GAP = 0
    """No record at that offset (a transaction marker): nothing to deliver."""
    ACCEPT = 1
    """Processed: never delivered again."""
    RELEASE = 2
    """Not processed: delivered again (to any member), its delivery count one higher."""
    REJECT = 3
    """Unprocessable: never delivered again (archived)."""


@dataclass
class ShareRecord(ConsumerRecord[bytes, bytes]):
    """A record a share-group member acquired, with how often it was delivered (1: first)."""

    delivery_count: int = 1
    """Deliveries so far, this one included (the broker counts them across members)."""


class ShareAcknowledgment(Acknowledgment):
    """Given to share-group handlers that ask for it: ``accept()``, ``release()`` or
    ``reject()`` their record; a handler that calls none accepts by returning and releases by
    raising (the error handler decides, see :mod:`kafka_kit.share.container`).

    Args:
        on_acknowledge: Called once, with the first decision.
    """

    __slots__ = ("_kind", "_on_kind")

    def __init__(self, on_acknowledge: Callable[[AcknowledgeType], None]) -> None:
        super().__init__(self._accepted)
        self._on_kind = on_acknowledge
        self._kind: AcknowledgeType | None = None

    def _accepted(self) -> None:
        self._decide(AcknowledgeType.ACCEPT)

    def _decide(self, kind: AcknowledgeType) -> None:
        if self._kind is None:
            self._kind = kind
            self._acknowledged = True
            self._on_kind(kind)

    def accept(self) -> None:
        """Processed: the record is done with (``acknowledge()`` does the same)."""
        self._decide(AcknowledgeType.ACCEPT)

    def release(self) -> None:
        """Give the record back: it is delivered again, possibly to another member."""
        self._decide(AcknowledgeType.RELEASE)

    def reject(self) -> None:
        """The record cannot be processed: it is never delivered again."""
        self._decide(AcknowledgeType.REJECT)

    @property
    def kind(self) -> AcknowledgeType | None:
        """The decision made so far, or ``None``."""
        return self._kind
