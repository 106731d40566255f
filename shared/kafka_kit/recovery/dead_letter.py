"""Dead-letter topics: publish records that cannot be handled, with why; list and replay them."""

from __future__ import annotations

import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiokafka.structs import ConsumerRecord

from kafka_kit import headers as h
from kafka_kit.errors import root_cause
from kafka_kit.recovery._forwarding import forward
from kafka_kit.template import KafkaTemplate

if TYPE_CHECKING:
    from kafka_kit.listener.context import ListenerContext

__all__ = [
    "DLT_SUFFIX",
    "DeadLetterPublishingRecoverer",
    "Origin",
    "dead_letter_topic",
    "exception_headers",
    "group_header",
    "is_retry_record",
    "origin_of",
]


Record = ConsumerRecord[bytes, bytes]

DLT_SUFFIX = "-dlt"
MAX_MESSAGE_BYTES = 4096
MAX_STACKTRACE_BYTES = 16384


def dead_letter_topic(topic: str, suffix: str = DLT_SUFFIX) -> str:
    """The dead-letter topic of ``topic``: ``<topic>-dlt`` by default; a dead-letter topic is
    its own (``orders-dlt`` stays ``orders-dlt``).

    Args:
        topic: A topic, or a dead-letter topic.
        suffix: What a dead-letter topic's name ends with.
    """
    return topic if topic.endswith(suffix) else f"{topic}{suffix}"


@dataclass(frozen=True)
class Origin:
    """Where a record was first consumed: topic, partition, offset, timestamp and its type."""

    topic: str
    """The topic it was first consumed from."""
    partition: int
    """Its partition there."""
    offset: int
    """Its offset there."""
    timestamp: int
    """Its timestamp (epoch ms)."""
    timestamp_type: str = "CreateTime"
    """``CreateTime`` (the producer's) or ``LogAppendTime`` (the broker's)."""

    def headers(self) -> list[tuple[str, bytes]]:
        """As Spring's ``DeadLetterPublishingRecoverer`` writes them (binary numbers)."""
        return [
            (h.DLT_ORIGINAL_TOPIC, self.topic.encode()),
            (h.DLT_ORIGINAL_PARTITION, h.int32(self.partition)),
            (h.DLT_ORIGINAL_OFFSET, h.int64(self.offset)),
            (h.DLT_ORIGINAL_TIMESTAMP, h.int64(self.timestamp)),
            (h.DLT_ORIGINAL_TIMESTAMP_TYPE, self.timestamp_type.encode()),
        ]


def is_retry_record(headers: Sequence[tuple[str, bytes]]) -> bool:
    """Read from a retry topic (ours or Spring's): it carries its origin in headers.

    Args:
        headers: The record's headers.
    """
    return any(k == h.RETRY_ATTEMPTS or k.startswith(h.LEGACY_RETRY_PREFIX) for k, _ in headers)


def origin_of(record: Record) -> Origin:
    """Where the record was first consumed.

    A record from a retry topic carries its origin in Spring's ``kafka_dlt-original-*`` headers
    (the first of each: later hops do not replace them), or in our pre-0.6 ``kafka_retry-*``
    ones; any other record is its own origin.

    Args:
        record: A consumed record.
    """
    headers = record.headers
    own = Origin(
        record.topic,
        record.partition,
        record.offset,
        record.timestamp,
        h.TIMESTAMP_TYPES.get(record.timestamp_type, "CreateTime"),
    )
    if not is_retry_record(headers):
        return own
    topic = h.first(headers, h.DLT_ORIGINAL_TOPIC)
    prefix = "kafka_dlt-original-"
    if topic is None:
        topic, prefix = h.first(headers, "kafka_retry-original-topic"), "kafka_retry-original-"
    if topic is None:
        return own

    def number(name: str, default: int) -> int:
        value = h.decode_int(h.first(headers, prefix + name))
        return default if value is None else value

    kind = h.first(headers, h.DLT_ORIGINAL_TIMESTAMP_TYPE)
    return Origin(
        topic.decode(errors="replace"),
        number("partition", record.partition),
        number("offset", record.offset),
        number("timestamp", record.timestamp),
        kind.decode(errors="replace") if kind else own.timestamp_type,
    )


def exception_headers(exc: BaseException) -> list[tuple[str, bytes]]:
    """Class, root cause's class, message and stack trace of ``exc``, as Spring names them.

    The class is what the failure is about (a batch listener's pointer to the failed record is
    unwrapped); the cause is the end of its ``raise … from`` chain; the message is Spring's:
    the exception's, then ``; `` and the cause's when they differ.

    Args:
        exc: What the handler raised.
    """
    failure = root_cause(exc)
    cause = failure
    while cause.__cause__ is not None:
        cause = cause.__cause__
    message = str(failure)
    if cause is not failure and str(cause):
        message = f"{message}; {cause}" if message else str(cause)
    trace = "".join(traceback.format_exception(failure))
    return [
        (h.DLT_EXCEPTION_FQCN, _qualified_name(failure).encode()),
        (h.DLT_EXCEPTION_CAUSE_FQCN, _qualified_name(cause).encode()),
        (h.DLT_EXCEPTION_MESSAGE, message.encode()[:MAX_MESSAGE_BYTES]),
        (h.DLT_EXCEPTION_STACKTRACE, trace.encode()[-MAX_STACKTRACE_BYTES:]),
    ]


def group_header(context: ListenerContext) -> list[tuple[str, bytes]]:
    """``kafka_dlt-original-consumer-group`` for a listener in a group (none without one).

    Args:
        context: The listener whose record it is.
    """
    group = context.group_id
    return [(h.DLT_ORIGINAL_CONSUMER_GROUP, group.encode())] if group else []


def _qualified_name(exc: BaseException) -> str:
    return f"{type(exc).__module__}.{type(exc).__qualname__}"


class DeadLetterPublishingRecoverer:
    """Publishes a record that will not be retried to ``<topic>-dlt`` (Spring's recoverer).

    Key, value and headers are kept; headers say why (exception class, its cause's class, message,
    stack trace) and where from (original topic, partition, offset, timestamp and its type,
    consumer group) with Spring's names and encodings, so Spring services read them. The same
    partition is used when the dead-letter topic has it. The container commits the original
    offset only after this write was acknowledged; when it fails, the record comes again.

    Args:
        template: Writes the dead letters.
        destination: Where a record goes instead of ``<topic>-dlt`` (a function of the record).
        suffix: What the dead-letter topic's name ends with.
    """

    def __init__(
        self,
        template: KafkaTemplate,
        *,
        destination: Callable[[Record], str] | None = None,
        suffix: str = DLT_SUFFIX,
    ) -> None:
        self.template = template
        self.destination = destination
        self.suffix = suffix

    def declared_topics(self, topic: str) -> list[str]:
        """The dead-letter topic of ``topic`` (none known for a custom destination).

        The registry creates it when the listener starts, with the main topic's partitions, so
        a dead letter keeps its partition (Spring assumes the same).

        Args:
            topic: A topic the listener reads.
        """
        return [] if self.destination else [dead_letter_topic(topic, self.suffix)]

    async def recover(self, record: Record, exc: Exception, context: ListenerContext) -> None:
        """Write the dead letter and wait for its acknowledgement (raises on failure).

        Args:
            record: The record, as it was consumed.
            exc: Why it failed: written to the exception headers.
            context: The listener: its group goes to a header.
        """
        origin = origin_of(record)
        target = (
            self.destination(record)
            if self.destination
            else dead_letter_topic(origin.topic, self.suffix)
        )
        kept = h.without(record.headers, h.DLT_PREFIX, h.RETRY_PREFIX, h.LEGACY_RETRY_PREFIX)
        await forward(
            self.template,
            record,
            target,
            partition=origin.partition,
            headers=(*kept, *origin.headers(), *group_header(context), *exception_headers(exc)),
        )
        context.count("dead_lettered")
