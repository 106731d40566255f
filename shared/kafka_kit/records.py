"""The values a send is made of and answered with: ``ProducerRecord``, ``SendResult``, headers.

A leaf module: it imports nothing of the kit, so errors, partitioners and middlewares can name
these types without importing the template.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NamedTuple

__all__ = ["Headers", "ProducerRecord", "SendResult", "normalize_headers"]

Headers = Mapping[str, bytes | str] | Iterable[tuple[str, bytes | str]]


class ProducerRecord(NamedTuple):
    """A record as handed to the producer: topic, optional partition, key, value, headers.

    A named tuple, not a dataclass: one is built per send, and tuples build fastest.
    """

    topic: str
    """Where it goes."""
    value: bytes | None
    """The serialized value; ``None`` is a tombstone (a compacted topic forgets the key)."""
    key: bytes | None = None
    """The serialized key: the same key, the same partition."""
    partition: int | None = None
    """The partition; ``None``: the partitioner chooses."""
    headers: tuple[tuple[str, bytes], ...] = ()
    """``(name, value)`` pairs, in order; a name may repeat."""
    timestamp_ms: int | None = None
    """Epoch milliseconds; ``None``: the producer's clock."""


class SendResult(NamedTuple):
    """The record sent and where it landed: topic, partition, offset, timestamp (ms)."""

    record: ProducerRecord
    """As handed to the producer, like Spring's ``getProducerRecord()``: a keyed record's
    ``partition`` may be ``None`` (the producer chose it); ``partition`` below says where."""
    topic: str
    """The topic it was written to."""
    partition: int
    """The partition it was written to."""
    offset: int
    """``-1`` with ``acks=0``: the producer never hears back from the broker."""
    timestamp: int
    """Epoch milliseconds, as the broker stored it (``-1`` with ``acks=0``)."""


def normalize_headers(headers: Headers | None) -> tuple[tuple[str, bytes], ...]:
    """Headers as the producer takes them: a tuple of (name, bytes) pairs.

    Args:
        headers: A mapping or ``(name, value)`` pairs; ``str`` values are UTF-8 encoded.
    """
    if not headers:
        return ()
    items = headers.items() if isinstance(headers, Mapping) else headers
    return tuple(
        (name, value.encode() if isinstance(value, str) else value) for name, value in items
    )
