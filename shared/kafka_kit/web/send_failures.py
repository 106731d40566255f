"""How a failed Kafka write is answered over HTTP."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiokafka.errors import MessageSizeTooLargeError

from kafka_kit._internal.clients import NOT_ALLOWED
from kafka_kit.errors import KafkaSendError

__all__ = ["SendFailureAnswer", "answer_for_send_failure"]


@dataclass(frozen=True)
class SendFailureAnswer:
    """Status, reason and headers for a send that Kafka did not acknowledge."""

    status_code: int
    """The HTTP status."""
    detail: str
    """The reason, for the body."""
    headers: dict[str, str] = field(default_factory=dict)
    """``Retry-After`` when trying later may work."""


def answer_for_send_failure(exc: KafkaSendError, retry_after_s: int) -> SendFailureAnswer:
    """504 + ``Retry-After`` when the record may have been written (retry with the same id);
    503 + ``Retry-After`` when it certainly was not and trying later may work; 403 when an ACL
    forbids it; 413 for too large; else 502.

    Args:
        exc: The failed send.
        retry_after_s: The ``Retry-After`` to give.
    """
    if isinstance(exc.cause, NOT_ALLOWED):
        # The service's Kafka principal may not write there: retrying will not help.
        return SendFailureAnswer(
            403, f"Kafka denied the write to this service: {type(exc.cause).__name__}: {exc.cause}"
        )
    if exc.outcome_unknown:
        # It may have been written: a plain retry could write it twice under a new id.
        return SendFailureAnswer(
            504,
            f"the write's outcome is unknown: {exc.cause}. It may have been written; retry "
            "with the same event id (the consumer stores each id once)",
            {"Retry-After": str(retry_after_s)},
        )
    if exc.retriable:
        return SendFailureAnswer(
            503,
            f"Kafka did not acknowledge the write: {exc.cause}",
            {"Retry-After": str(retry_after_s)},
        )
    if isinstance(exc.cause, MessageSizeTooLargeError):
        return SendFailureAnswer(413, f"Kafka refused the record as too large: {exc.cause}")
    return SendFailureAnswer(
        502, f"Kafka rejected the write: {type(exc.cause).__name__}: {exc.cause}"
    )
