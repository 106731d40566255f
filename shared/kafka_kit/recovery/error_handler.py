"""What a container does when a handler raises: retry after a back-off, or recover the record.

``DefaultErrorHandler`` follows Spring's: blocking retries with a back-off (the container pauses the
partition and keeps polling, so a long back-off never costs the group membership), exceptions that
are never retried (a record that cannot be converted is a poison pill: retrying cannot help), and
after the last attempt a recoverer (usually the ``DeadLetterPublishingRecoverer``). A record is
committed only once it was handled or recovered.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from aiokafka.structs import ConsumerRecord

from kafka_kit.errors import DeserializationError, root_cause
from kafka_kit.recovery.back_off import BackOff, ExponentialBackOff

if TYPE_CHECKING:
    from kafka_kit.listener.context import ListenerContext

__all__ = [
    "NOT_RETRYABLE",
    "RECOVERED",
    "ConsumerRecordRecoverer",
    "DefaultErrorHandler",
    "ErrorHandler",
    "ErrorOutcome",
    "RetryListener",
    "is_retryable",
]


log = logging.getLogger(__name__)

Record = ConsumerRecord[bytes, bytes]

RECOVERY_FAILED_RETRY_S = 5.0
"""How soon a record whose recovery failed (e.g. the dead-letter write) is tried again."""


@dataclass(frozen=True)
class ErrorOutcome:
    """The decision for a failed record: delivered again after ``retry_after_s``, or dealt with.

    ``recovered``: the error handler dealt with the record (a recoverer took it, or it went to a
    retry topic) and reported what it did through the listener context; the container commits
    it and moves on. Otherwise the container counts a retry and delivers it again.
    """

    recovered: bool
    """Dealt with: commit the record(s) and move on."""
    retry_after_s: float = 0.0
    """Not dealt with: seek back and deliver again after this many seconds."""

    @classmethod
    def retry(cls, after_s: float) -> ErrorOutcome:
        """Seek back; deliver the record again after ``after_s`` seconds.

        Args:
            after_s: The pause before the next delivery (the container pauses the partition).
        """
        return cls(recovered=False, retry_after_s=after_s)


RECOVERED = ErrorOutcome(recovered=True)
"""The record was dealt with (dead-lettered, forwarded to a retry topic…): commit it, move on."""


class ErrorHandler(Protocol):
    """Decides what happens to records whose handler raised."""

    async def handle(
        self,
        exc: Exception,
        records: Sequence[Record],
        attempt: int,
        context: ListenerContext,
    ) -> ErrorOutcome:
        """What to do with records whose handler raised.

        Args:
            exc: What the handler raised.
            records: The failed record, or a batch listener's whole batch.
            attempt: Deliveries so far, counting from 1.
            context: The listener: its ids and group, and ``count`` to report outcomes.
        """
        ...


class ConsumerRecordRecoverer(Protocol):
    """Takes a record that will not be retried any more; raising means recovery failed."""

    async def recover(self, record: Record, exc: Exception, context: ListenerContext) -> None:
        """Deal with ``record`` for good (publish it to a dead-letter topic, store it, …).

        Args:
            record: The record, as it was consumed.
            exc: Why it failed (the handler's exception).
            context: The listener: its ids and group.
        """
        ...


class RetryListener(Protocol):
    """Hooks into the retry cycle (Spring's ``RetryListener``); each method is optional."""

    def failed_delivery(self, record: Record, exc: Exception, attempt: int) -> None:
        """A delivery failed.

        Args:
            record: The failed record (a batch's first).
            exc: What the handler raised.
            attempt: Deliveries so far, counting from 1.
        """

    def recovered(self, record: Record, exc: Exception) -> None:
        """The record was recovered after its last attempt.

        Args:
            record: The recovered record.
            exc: Why it failed.
        """

    def recovery_failed(self, record: Record, exc: Exception, failure: Exception) -> None:
        """Recovery raised ``failure``; the record will be delivered again.

        Args:
            record: The record that was being recovered.
            exc: Why it failed in the first place.
            failure: What the recoverer raised.
        """


NOT_RETRYABLE: tuple[type[BaseException], ...] = (DeserializationError,)
"""Never retried by default: a value that cannot be converted will not convert next time."""


def is_retryable(exc: BaseException, not_retryable: Iterable[type[BaseException]] = ()) -> bool:
    """Whether another delivery may succeed where this one failed.

    Args:
        exc: What the handler raised (its root cause decides).
        not_retryable: More exception types that are never retried.
    """
    return not isinstance(root_cause(exc), (*NOT_RETRYABLE, *not_retryable))


class DefaultErrorHandler:
    """Blocking retries with back-off, then the recoverer; some exceptions are never retried.

    Args:
        recoverer: Takes a record when its retries are used up (e.g.
            :class:`~kafka_kit.recovery.DeadLetterPublishingRecoverer`); without one the record
            is retried without end (it blocks its partition, as Spring's does).
        back_off: The delay before each retry; ``ExponentialBackOff`` (9 retries with a
            recoverer, no limit without) when omitted.
        not_retryable: Exception types recovered at once, never retried (besides
            :class:`~kafka_kit.errors.DeserializationError`).
        retry_listeners: Hear each failed delivery, recovery and failed recovery.
        recovery_retry_s: How soon a record whose recovery failed is tried again.
    """

    def __init__(
        self,
        recoverer: ConsumerRecordRecoverer | None = None,
        back_off: BackOff | None = None,
        *,
        not_retryable: Iterable[type[BaseException]] = (),
        retry_listeners: Iterable[RetryListener] = (),
        recovery_retry_s: float = RECOVERY_FAILED_RETRY_S,
    ) -> None:
        self.recoverer = recoverer
        self.recovery_retry_s = recovery_retry_s
        # Without a recoverer there is nowhere to put a record for good: retry without end.
        self.back_off: BackOff = back_off or ExponentialBackOff(
            max_retries=9 if recoverer is not None else None
        )
        self.not_retryable = tuple(not_retryable)
        self.retry_listeners = list(retry_listeners)

    def is_retryable(self, exc: BaseException) -> bool:
        """Whether another delivery may succeed where this one failed.

        Args:
            exc: What the handler raised.
        """
        return is_retryable(exc, self.not_retryable)

    def declared_topics(self, topic: str) -> list[str]:
        """Topics the recoverer writes to for ``topic`` (its dead-letter topic).

        Args:
            topic: A topic the listener reads.
        """
        declared = getattr(self.recoverer, "declared_topics", None)
        return list(declared(topic)) if declared is not None else []

    async def handle(
        self,
        exc: Exception,
        records: Sequence[Record],
        attempt: int,
        context: ListenerContext,
    ) -> ErrorOutcome:
        """Retry after the back-off while attempts remain; then recover every record.

        Args:
            exc: What the handler raised.
            records: The failed record, or a batch listener's whole batch.
            attempt: Deliveries so far, counting from 1.
            context: The listener: its ids and group, and ``count`` to report outcomes.
        """
        first = records[0]
        self._notify("failed_delivery", first, exc, attempt)
        delay = self.back_off.delay_s(attempt) if self.is_retryable(exc) else None
        where = f"{first.topic}-{first.partition}@{first.offset}"
        if delay is not None:
            log.warning(
                "listener %s: %s failed (attempt %d), retry in %.1f s: %r",
                context.client_id,
                where,
                attempt,
                delay,
                exc,
            )
            return ErrorOutcome.retry(delay)
        if self.recoverer is None:
            log.error(
                "listener %s: %s cannot be handled (%r) and no recoverer is configured; it "
                "blocks its partition, retried every %.0f s",
                context.client_id,
                where,
                exc,
                self.recovery_retry_s,
            )
            return ErrorOutcome.retry(self.recovery_retry_s)
        for record in records:
            try:
                await self.recoverer.recover(record, exc, context)
            except Exception as failure:  # noqa: BLE001 - not committed: tried again later
                log.error(
                    "listener %s: recovering %s failed, it will be retried: %r",
                    context.client_id,
                    where,
                    failure,
                )
                self._notify("recovery_failed", record, exc, failure)
                return ErrorOutcome.retry(self.recovery_retry_s)
            context.count("recovered")
            self._notify("recovered", record, exc)
        return RECOVERED

    def _notify(self, hook: str, *args: object) -> None:
        for listener in self.retry_listeners:
            method = getattr(listener, hook, None)
            if method is None:
                continue
            try:
                method(*args)
            except Exception:
                log.exception("RetryListener.%s raised", hook)
