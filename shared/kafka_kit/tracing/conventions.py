"""OpenTelemetry's messaging semantic conventions for Kafka: attribute names and span names.

As in `semantic-conventions/messaging/kafka.md` (v1.27+): a send is ``send <topic>`` (kind
PRODUCER), a listener call ``process <topic>`` (kind CONSUMER). Keys are recorded as text, as
the conventions ask for a key that is not a string; values never are.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "BATCH_COUNT",
    "CLIENT_ID",
    "CONSUMER_GROUP",
    "DESTINATION",
    "ERROR_TYPE",
    "KAFKA",
    "LISTENER_ID",
    "MESSAGE_KEY",
    "OFFSET",
    "OPERATION_NAME",
    "OPERATION_TYPE",
    "PARTITION",
    "SYSTEM",
    "TOMBSTONE",
    "error_type",
    "key_text",
    "span_name",
]

SYSTEM = "messaging.system"
"""``kafka``."""
KAFKA = "kafka"
"""The value of ``messaging.system``."""
OPERATION_NAME = "messaging.operation.name"
"""``send`` or ``process``."""
OPERATION_TYPE = "messaging.operation.type"
"""``send`` or ``process``."""
DESTINATION = "messaging.destination.name"
"""The topic."""
PARTITION = "messaging.destination.partition.id"
"""The partition, as text."""
OFFSET = "messaging.kafka.offset"
"""The record's offset."""
MESSAGE_KEY = "messaging.kafka.message.key"
"""The record's key, as text."""
TOMBSTONE = "messaging.kafka.message.tombstone"
"""``True`` for a record without a value."""
CONSUMER_GROUP = "messaging.consumer.group.name"
"""The listener's consumer group."""
CLIENT_ID = "messaging.client.id"
"""The consumer's client id."""
BATCH_COUNT = "messaging.batch.message_count"
"""Records in a batch listener's call."""
ERROR_TYPE = "error.type"
"""The exception's qualified class name."""
LISTENER_ID = "kafka_kit.listener.id"
"""The listener's id in the registry."""

_KEY_CHARS = 256
"""Keys longer than this are cut: an attribute is for finding the record, not storing it."""


def key_text(key: bytes | None) -> str | None:
    """A key as the conventions record it: UTF-8 text (undecodable bytes replaced), cut short.

    Args:
        key: The serialized key.
    """
    if key is None:
        return None
    return key[:_KEY_CHARS].decode("utf-8", "replace")


def error_type(exc: BaseException) -> str:
    """``error.type``: the exception's module and class name (``builtins`` left out).

    Args:
        exc: What was raised.
    """
    kind = type(exc)
    return (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )


def span_name(operation: str, topics: Sequence[str]) -> str:
    """``<operation> <topic>``, or the operation alone for records of several topics.

    Args:
        operation: ``send`` or ``process``.
        topics: The records' topics.
    """
    distinct = set(topics)
    return f"{operation} {next(iter(distinct))}" if len(distinct) == 1 else operation
