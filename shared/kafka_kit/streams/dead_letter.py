"""Dead-letter headers for a record a stream processor cannot process, as Spring writes them."""

from __future__ import annotations

from kafka_kit import headers as h
from kafka_kit.recovery.dead_letter import Origin, exception_headers

__all__ = ["dead_letter_headers"]


def dead_letter_headers(
    origin: Origin, exc: BaseException, group_id: str, original: list[tuple[str, bytes]]
) -> list[tuple[str, bytes]]:
    """The record's own headers, then where it came from and why it failed (``kafka_dlt-*``).

    Args:
        origin: Where the record was consumed.
        exc: Why it failed.
        group_id: The application's consumer group (its id).
        original: The record's own headers, kept first.
    """
    return [
        *original,
        *origin.headers(),
        *exception_headers(exc),
        (h.DLT_ORIGINAL_CONSUMER_GROUP, group_id.encode()),
    ]
