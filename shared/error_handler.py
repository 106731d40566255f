"""What a container does when a handler raises: retry after a back-off, or recover the record."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from aiokafka.structs import ConsumerRecord

if TYPE_CHECKING:
    from shared.container import ListenerContainer

log = logging.getLogger(__name__)

Record = ConsumerRecord[bytes, bytes]


@dataclass(frozen=True)
class ErrorOutcome:
    """The decision for a failed record: retried after ``retry_after_s``, or recovered."""

    recovered: bool
    retry_after_s: float = 0.0

    @classmethod
    def retry(cls, after_s: float) -> ErrorOutcome:
        """Seek back; deliver the record again after ``after_s`` seconds."""
        return cls(recovered=False, retry_after_s=after_s)


RECOVERED = ErrorOutcome(recovered=True)
"""The record was dealt with (e.g. dead-lettered): commit it and move on."""


class ErrorHandler(Protocol):
    """Decides what happens to records whose handler raised."""

    async def handle(
        self,
        exc: Exception,
        records: Sequence[Record],
        attempt: int,
        container: ListenerContainer,
    ) -> ErrorOutcome:
        """``records`` are the failed record (or batch); ``attempt`` counts from 1."""
        ...


class FixedBackOffErrorHandler:
    """Logs the failure and redelivers the record after a fixed back-off, without end.

    Nothing is skipped and nothing spins: the partition is paused during the back-off while the
    consumer keeps polling, so it stays in its group.
    """

    def __init__(self, interval_s: float = 1.0) -> None:
        self.interval_s = interval_s

    async def handle(
        self,
        exc: Exception,
        records: Sequence[Record],
        attempt: int,
        container: Any,
    ) -> ErrorOutcome:
        """Always retry after the interval."""
        first = records[0]
        log.error(
            "listener %s: handler failed on %s-%d@%d (attempt %d); retrying in %.1f s: %r",
            container.client_id,
            first.topic,
            first.partition,
            first.offset,
            attempt,
            self.interval_s,
            exc,
        )
        return ErrorOutcome.retry(self.interval_s)
