"""Dead-letter topics: publish records that cannot be handled, with why; list and replay them."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING

from aiokafka.structs import ConsumerRecord

from kafka_kit import headers as h
from kafka_kit._forwarding import forward
from kafka_kit.errors import root_cause
from kafka_kit.template import KafkaTemplate

if TYPE_CHECKING:
    from kafka_kit.listener.context import ListenerContext

__all__ = [
    "DLT_SUFFIX",
    "DeadLetterPublishingRecoverer",
    "dead_letter_topic",
    "exception_headers",
    "origin_of",
]


Record = ConsumerRecord[bytes, bytes]

DLT_SUFFIX = "-dlt"
MAX_MESSAGE_BYTES = 4096
MAX_STACKTRACE_BYTES = 16384


def dead_letter_topic(topic: str, suffix: str = DLT_SUFFIX) -> str:
    """The dead-letter topic of ``topic``: ``<topic>-dlt`` by default; a dead-letter topic is
    its own (``orders-dlt`` stays ``orders-dlt``)."""
    return topic if topic.endswith(suffix) else f"{topic}{suffix}"


def origin_of(record: Record) -> tuple[str, int, int, int]:
    """Topic, partition, offset and timestamp of the record as first consumed.

    A record read from a retry topic carries its origin in headers; others are their own origin.
    """
    headers = record.headers
    topic = h.header(headers, h.RETRY_ORIGINAL_TOPIC)
    if topic is None:
        return record.topic, record.partition, record.offset, record.timestamp
    return (
        topic,
        int(h.header(headers, h.RETRY_ORIGINAL_PARTITION) or record.partition),
        int(h.header(headers, h.RETRY_ORIGINAL_OFFSET) or record.offset),
        int(h.header(headers, h.RETRY_ORIGINAL_TIMESTAMP) or record.timestamp),
    )


def exception_headers(exc: BaseException) -> list[tuple[str, bytes]]:
    """Class, message and stack trace of ``exc`` (its cause, for wrapping exceptions)."""
    root = root_cause(exc)
    fqcn = f"{type(root).__module__}.{type(root).__qualname__}"
    trace = "".join(traceback.format_exception(root))
    return [
        (h.DLT_EXCEPTION_FQCN, fqcn.encode()),
        (h.DLT_EXCEPTION_MESSAGE, str(root).encode()[:MAX_MESSAGE_BYTES]),
        (h.DLT_EXCEPTION_STACKTRACE, trace.encode()[-MAX_STACKTRACE_BYTES:]),
    ]


class DeadLetterPublishingRecoverer:
    """Publishes a record that will not be retried to ``<topic>-dlt`` (Spring's recoverer).

    Key, value and headers are kept; headers say why (exception class, message, stack trace) and
    where from (original topic, partition, offset, timestamp, consumer group). The same partition is
    used when the dead-letter topic has it. The container commits the original offset only after
    this write was acknowledged; when it fails, the record is not committed and comes again.
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

    async def recover(self, record: Record, exc: Exception, context: ListenerContext) -> None:
        """Write the dead letter and wait for its acknowledgement (raises on failure)."""
        topic, partition, offset, timestamp = origin_of(record)
        target = (
            self.destination(record) if self.destination else dead_letter_topic(topic, self.suffix)
        )
        kept = h.without(record.headers, h.DLT_PREFIX, h.RETRY_PREFIX)
        await forward(
            self.template,
            record,
            target,
            partition=partition,
            headers=(
                *kept,
                *exception_headers(exc),
                (h.DLT_ORIGINAL_TOPIC, topic.encode()),
                (h.DLT_ORIGINAL_PARTITION, str(partition).encode()),
                (h.DLT_ORIGINAL_OFFSET, str(offset).encode()),
                (h.DLT_ORIGINAL_TIMESTAMP, str(timestamp).encode()),
                (h.DLT_ORIGINAL_CONSUMER_GROUP, (context.group_id or "").encode()),
            ),
        )
        context.count("dead_lettered")
