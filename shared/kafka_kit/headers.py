"""Record header names the library writes (Spring Kafka's names where Spring has one)."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "DLT_EXCEPTION_FQCN",
    "DLT_EXCEPTION_MESSAGE",
    "DLT_EXCEPTION_STACKTRACE",
    "DLT_ORIGINAL_CONSUMER_GROUP",
    "DLT_ORIGINAL_OFFSET",
    "DLT_ORIGINAL_PARTITION",
    "DLT_ORIGINAL_TIMESTAMP",
    "DLT_ORIGINAL_TOPIC",
    "DLT_PREFIX",
    "DLT_REPLAYED_FROM",
    "OUTBOX_RELAY",
    "OUTBOX_SEQ",
    "RETRY_ATTEMPT",
    "RETRY_EXCEPTION_MESSAGE",
    "RETRY_NOT_BEFORE",
    "RETRY_ORIGINAL_OFFSET",
    "RETRY_ORIGINAL_PARTITION",
    "RETRY_ORIGINAL_TIMESTAMP",
    "RETRY_ORIGINAL_TOPIC",
    "RETRY_PREFIX",
    "Headers",
    "header",
    "without",
]


DLT_PREFIX = "kafka_dlt-"
DLT_EXCEPTION_FQCN = "kafka_dlt-exception-fqcn"
DLT_EXCEPTION_MESSAGE = "kafka_dlt-exception-message"
DLT_EXCEPTION_STACKTRACE = "kafka_dlt-exception-stacktrace"
DLT_ORIGINAL_TOPIC = "kafka_dlt-original-topic"
DLT_ORIGINAL_PARTITION = "kafka_dlt-original-partition"
DLT_ORIGINAL_OFFSET = "kafka_dlt-original-offset"
DLT_ORIGINAL_TIMESTAMP = "kafka_dlt-original-timestamp"
DLT_ORIGINAL_CONSUMER_GROUP = "kafka_dlt-original-consumer-group"
DLT_REPLAYED_FROM = "kafka_dlt-replayed-from"
"""On a record republished from a dead-letter topic: ``<dlt>/<partition>/<offset>``."""

RETRY_PREFIX = "kafka_retry-"
RETRY_ATTEMPT = "kafka_retry-attempt"
"""Deliveries so far: the next handling of the record is delivery ``attempt + 1``."""
RETRY_NOT_BEFORE = "kafka_retry-not-before"
"""Epoch milliseconds before which a retry-topic record is not handled."""
RETRY_ORIGINAL_TOPIC = "kafka_retry-original-topic"
RETRY_ORIGINAL_PARTITION = "kafka_retry-original-partition"
RETRY_ORIGINAL_OFFSET = "kafka_retry-original-offset"
RETRY_ORIGINAL_TIMESTAMP = "kafka_retry-original-timestamp"
RETRY_EXCEPTION_MESSAGE = "kafka_retry-exception-message"

Headers = tuple[tuple[str, bytes], ...]


def header(headers: Iterable[tuple[str, bytes]], name: str) -> str | None:
    """The last value of ``name`` as text, or ``None``."""
    found = None
    for key, value in headers:
        if key == name:
            found = value.decode(errors="replace")
    return found


def without(headers: Iterable[tuple[str, bytes]], *prefixes: str) -> Headers:
    """``headers`` minus those whose names start with one of ``prefixes``."""
    return tuple((k, v) for k, v in headers if not k.startswith(prefixes))


OUTBOX_RELAY = "outbox-relay"
"""Which outbox relayed the record (the outbox file's id)."""
OUTBOX_SEQ = "outbox-seq"
"""The record's sequence number in that outbox."""
