"""Record headers the library writes and reads — Spring for Apache Kafka's names and encodings.

Spring writes a dead letter's original partition as a 4-byte big-endian int, its offset and
timestamp as 8-byte big-endian longs, the timestamp type as its name (``CreateTime``), the rest as
UTF-8 text; non-blocking retries carry ``retry_topic-attempts`` (4-byte int: the delivery this
record is), ``retry_topic-backoff-timestamp`` and ``retry_topic-original-timestamp`` (Java
``BigInteger`` bytes of epoch milliseconds). We write exactly that, and read it back — along with
the decimal text and ``kafka_retry-*`` headers this library wrote before 0.6.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

__all__ = [
    "CORRELATION_ID",
    "DLT_EXCEPTION_CAUSE_FQCN",
    "DLT_EXCEPTION_FQCN",
    "DLT_EXCEPTION_MESSAGE",
    "DLT_EXCEPTION_STACKTRACE",
    "DLT_ORIGINAL_CONSUMER_GROUP",
    "DLT_ORIGINAL_OFFSET",
    "DLT_ORIGINAL_PARTITION",
    "DLT_ORIGINAL_TIMESTAMP",
    "DLT_ORIGINAL_TIMESTAMP_TYPE",
    "DLT_ORIGINAL_TOPIC",
    "DLT_PREFIX",
    "DLT_REPLAYED_FROM",
    "LEGACY_RETRY_PREFIX",
    "OUTBOX_RELAY",
    "OUTBOX_SEQ",
    "REPLY_PARTITION",
    "REPLY_TOPIC",
    "RETRY_ATTEMPTS",
    "RETRY_BACKOFF_TIMESTAMP",
    "RETRY_ORIGINAL_TIMESTAMP",
    "RETRY_PREFIX",
    "TIMESTAMP_TYPES",
    "TYPE_ID",
    "Headers",
    "big_integer",
    "decode_big_integer",
    "decode_int",
    "first",
    "header",
    "int32",
    "int64",
    "last",
    "without",
]


DLT_PREFIX = "kafka_dlt-"
DLT_EXCEPTION_FQCN = "kafka_dlt-exception-fqcn"
DLT_EXCEPTION_CAUSE_FQCN = "kafka_dlt-exception-cause-fqcn"
DLT_EXCEPTION_MESSAGE = "kafka_dlt-exception-message"
DLT_EXCEPTION_STACKTRACE = "kafka_dlt-exception-stacktrace"
DLT_ORIGINAL_TOPIC = "kafka_dlt-original-topic"
DLT_ORIGINAL_PARTITION = "kafka_dlt-original-partition"
DLT_ORIGINAL_OFFSET = "kafka_dlt-original-offset"
DLT_ORIGINAL_TIMESTAMP = "kafka_dlt-original-timestamp"
DLT_ORIGINAL_TIMESTAMP_TYPE = "kafka_dlt-original-timestamp-type"
DLT_ORIGINAL_CONSUMER_GROUP = "kafka_dlt-original-consumer-group"
DLT_REPLAYED_FROM = "kafka_dlt-replayed-from"
"""On a record republished from a dead-letter topic: ``<dlt>/<partition>/<offset>`` (ours)."""

RETRY_PREFIX = "retry_topic-"
RETRY_ATTEMPTS = "retry_topic-attempts"
"""The delivery this retry-topic record is (2 on the first retry topic), a 4-byte int."""
RETRY_BACKOFF_TIMESTAMP = "retry_topic-backoff-timestamp"
"""Epoch milliseconds before which a retry-topic record is not handled (``BigInteger`` bytes)."""
RETRY_ORIGINAL_TIMESTAMP = "retry_topic-original-timestamp"
"""The timestamp of the record as first published (``BigInteger`` bytes)."""

LEGACY_RETRY_PREFIX = "kafka_retry-"
"""What this library's retry headers were named before 0.6 (still read)."""

TYPE_ID = "__TypeId__"
"""Spring's ``JsonSerializer`` type header: the class name, or a token of a type mapping."""

TIMESTAMP_TYPES = {0: "CreateTime", 1: "LogAppendTime"}
"""Kafka's timestamp types by number, named as Java's ``TimestampType.toString()``."""

Headers = tuple[tuple[str, bytes], ...]


def header(headers: Iterable[tuple[str, bytes]], name: str) -> str | None:
    """The last value of ``name`` as text, or ``None``.

    Args:
        headers: A record's headers.
        name: The header's name.
    """
    found = None
    for key, value in headers:
        if key == name:
            found = value.decode(errors="replace")
    return found


def first(headers: Iterable[tuple[str, bytes]], name: str) -> bytes | None:
    """The first value of ``name`` (Spring appends originals: the first is the earliest).

    Args:
        headers: A record's headers.
        name: The header's name.
    """
    for key, value in headers:
        if key == name:
            return value
    return None


def last(headers: Iterable[tuple[str, bytes]], name: str) -> bytes | None:
    """The last value of ``name`` (Kafka's ``lastHeader``).

    Args:
        headers: A record's headers.
        name: The header's name.
    """
    found = None
    for key, value in headers:
        if key == name:
            found = value
    return found


def without(headers: Iterable[tuple[str, bytes]], *prefixes: str) -> Headers:
    """``headers`` minus those whose names start with one of ``prefixes``.

    Args:
        headers: A record's headers.
        prefixes: Name prefixes to drop (``kafka_dlt-``…).
    """
    return tuple((k, v) for k, v in headers if not k.startswith(prefixes))


def int32(value: int) -> bytes:
    """Java's ``ByteBuffer.putInt``: 4 bytes, big-endian.

    Args:
        value: The number (a Java ``int``).
    """
    return struct.pack(">i", value)


def int64(value: int) -> bytes:
    """Java's ``ByteBuffer.putLong``: 8 bytes, big-endian.

    Args:
        value: The number (a Java ``long``).
    """
    return struct.pack(">q", value)


def big_integer(value: int) -> bytes:
    """Java's ``BigInteger.toByteArray()``: minimal two's-complement, big-endian.

    Args:
        value: The number.
    """
    return value.to_bytes(value.bit_length() // 8 + 1, "big", signed=True)


def decode_big_integer(data: bytes | None) -> int | None:
    """Read ``BigInteger`` bytes (or decimal text as written before 0.6).

    Args:
        data: The header's bytes.
    """
    if not data:
        return None
    if _is_decimal(data) and len(data) > 1:
        return int(data)
    return int.from_bytes(data, "big", signed=True)


def decode_int(data: bytes | None) -> int | None:
    """A 4-byte int or 8-byte long as Spring writes them, or decimal text as we wrote before 0.6.

    Text is told apart by its digits: a binary partition, offset or timestamp whose every byte is
    an ASCII digit would be above 8·10⁸ (int) or 3·10¹⁸ (long), which none is.

    Args:
        data: The header's bytes.
    """
    if data is None:
        return None
    if _is_decimal(data):
        return int(data)
    if len(data) == 4:
        return int(struct.unpack(">i", data)[0])
    if len(data) == 8:
        return int(struct.unpack(">q", data)[0])
    return None


def _is_decimal(data: bytes) -> bool:
    digits = data[1:] if data[:1] == b"-" else data
    return bool(digits) and digits.isdigit()


OUTBOX_RELAY = "outbox-relay"
"""Which outbox relayed the record (the outbox file's id)."""
OUTBOX_SEQ = "outbox-seq"
"""The record's sequence number in that outbox."""

# Request/reply, as Spring's ReplyingKafkaTemplate and @SendTo write them (KafkaHeaders).
CORRELATION_ID = "kafka_correlationId"
"""Which request a reply answers: Spring's default is a UUID's 16 bytes (big-endian)."""
REPLY_TOPIC = "kafka_replyTopic"
"""Where the requester reads replies (UTF-8)."""
REPLY_PARTITION = "kafka_replyPartition"
"""The reply topic's partition the requester reads (4-byte big-endian int), when it asks for one."""
