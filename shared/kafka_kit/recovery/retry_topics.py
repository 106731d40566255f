"""Non-blocking retries through ``<topic>-retry-<delay>`` topics, then ``<topic>-dlt``.

Like Spring's ``@RetryableTopic``, with its headers (``retry_topic-attempts``,
``retry_topic-backoff-timestamp``, ``retry_topic-original-timestamp``, and the origin as
``kafka_dlt-original-*``): a failed record is published to a retry topic and committed on the main
topic, so the main partition moves on at once. The
same handler consumes each retry topic (in a group of its own) and handles a record only when it is
due; after the last attempt the record goes to the dead-letter topic. Ordering within a key is given
up: a retried record is handled after records that came later.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiokafka.structs import ConsumerRecord

from kafka_kit import headers as h
from kafka_kit.recovery._forwarding import forward
from kafka_kit.recovery.back_off import BackOff, FixedBackOff
from kafka_kit.recovery.dead_letter import (
    DLT_SUFFIX,
    DeadLetterPublishingRecoverer,
    dead_letter_topic,
    exception_headers,
    group_header,
    origin_of,
)
from kafka_kit.recovery.error_handler import (
    RECOVERED,
    RECOVERY_FAILED_RETRY_S,
    ErrorOutcome,
    is_retryable,
)
from kafka_kit.template import KafkaTemplate

if TYPE_CHECKING:
    from kafka_kit.listener.context import ListenerContext

__all__ = ["RetryTopicRouter", "RetryTopics", "delivery_of", "not_before"]


log = logging.getLogger(__name__)

Record = ConsumerRecord[bytes, bytes]


@dataclass(frozen=True)
class RetryTopics:
    """``attempts`` deliveries in all (the first plus retries), spaced by ``back_off``.

    Retry topics are named by delay: an exponential back-off gives ``-retry-1000``,
    ``-retry-2000``…; a fixed one a single ``-retry-<delay>`` topic used for every retry.
    """

    attempts: int = 3
    """Deliveries in all, the first on the main topic included (Spring's ``attempts``)."""
    back_off: BackOff = FixedBackOff(1.0, None)  # noqa: RUF009 - frozen, shared safely
    """The wait before each retry; it names the retry topics."""
    retry_suffix: str = "-retry"
    """Retry topics are ``<topic><retry_suffix>-<delay ms>``."""
    dlt_suffix: str = DLT_SUFFIX
    """The dead-letter topic is ``<topic><dlt_suffix>``."""
    not_retryable: tuple[type[BaseException], ...] = ()
    """Exceptions that go to the dead-letter topic at once."""

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts counts the first delivery: at least 1")

    def delays_s(self) -> list[float]:
        """The wait before each retry (``attempts - 1`` of them)."""
        delays: list[float] = []
        for retry in range(1, self.attempts):
            delay = self.back_off.delay_s(retry)
            delays.append(delays[-1] if delay is None and delays else delay or 0.0)
        return delays

    def topic_for(self, main_topic: str, delay_s: float) -> str:
        """The retry topic for ``delay_s``.

        Args:
            main_topic: The topic the listener reads.
            delay_s: The wait before the retry.
        """
        return f"{main_topic}{self.retry_suffix}-{round(delay_s * 1000)}"

    def retry_topics(self, main_topic: str) -> list[str]:
        """Every retry topic of ``main_topic``, in order of use, each once.

        Args:
            main_topic: The topic the listener reads.
        """
        return list(dict.fromkeys(self.topic_for(main_topic, d) for d in self.delays_s()))

    def dead_letter_topic(self, main_topic: str) -> str:
        """Where records go after the last attempt.

        Args:
            main_topic: The topic the listener reads.
        """
        return dead_letter_topic(main_topic, self.dlt_suffix)


def not_before(record: Record) -> float | None:
    """Epoch seconds before which a retry-topic record must wait (``None``: no header).

    Args:
        record: A record of a retry topic.
    """
    due = h.decode_big_integer(h.last(record.headers, h.RETRY_BACKOFF_TIMESTAMP))
    if due is None:
        due = h.decode_int(h.last(record.headers, "kafka_retry-not-before"))
    return due / 1000 if due is not None else None


def delivery_of(record: Record) -> int:
    """Which delivery this is: 1 on the main topic, 2 on the first retry topic (Spring's count).

    Args:
        record: A consumed record.
    """
    raw = h.last(record.headers, h.RETRY_ATTEMPTS)
    if raw is None:
        raw = h.last(record.headers, "kafka_retry-attempt")  # before 0.6: decimal text
    if raw is not None and len(raw) == 1 and not raw.isdigit():
        return raw[0]  # Spring's one-byte form, from before its 4-byte one
    value = h.decode_int(raw)
    return value if value is not None and value >= 1 else 1


class RetryTopicRouter:
    """The error handler of a listener with retry topics: forward to the next topic, or the DLT.

    Args:
        retry: The retry topics and their delays.
        template: Publishes to the retry topics and the DLT.
        recovery_retry_s: How soon a record whose forwarding failed is tried again.
    """

    def __init__(
        self,
        retry: RetryTopics,
        template: KafkaTemplate,
        recovery_retry_s: float = RECOVERY_FAILED_RETRY_S,
    ) -> None:
        self.retry = retry
        self.recovery_retry_s = recovery_retry_s
        self.template = template
        self.dead_letters = DeadLetterPublishingRecoverer(
            template, destination=lambda record: retry.dead_letter_topic(origin_of(record).topic)
        )

    def declared_topics(self, topic: str) -> list[str]:
        """The retry topics and the dead-letter topic of ``topic``.

        Args:
            topic: The topic the listener reads.
        """
        return [*self.retry.retry_topics(topic), self.retry.dead_letter_topic(topic)]

    async def handle(
        self,
        exc: Exception,
        records: Sequence[Record],
        attempt: int,
        context: ListenerContext,
    ) -> ErrorOutcome:
        """Publish each failed record onwards; commit it here once that write is acknowledged.

        Args:
            exc: What the handler raised.
            records: The failed record, or a batch listener's whole batch.
            attempt: Deliveries of it on this topic (the delivery count is in its headers).
            context: The listener: its ids and group, and ``count`` to report outcomes.
        """
        for record in records:
            try:
                await self._forward(record, exc, context)
            except Exception as failure:  # noqa: BLE001 - not committed: comes again
                log.error(
                    "listener %s: forwarding %s-%d@%d failed: %r",
                    context.client_id,
                    record.topic,
                    record.partition,
                    record.offset,
                    failure,
                )
                return ErrorOutcome.retry(self.recovery_retry_s)
        return RECOVERED

    async def _forward(self, record: Record, exc: Exception, context: ListenerContext) -> None:
        delivered = delivery_of(record)
        delays = self.retry.delays_s()
        if delivered > len(delays) or not is_retryable(exc, self.retry.not_retryable):
            await self.dead_letters.recover(record, exc, context)
            context.count("recovered")
            return
        delay = delays[delivered - 1]
        origin = origin_of(record)
        target = self.retry.topic_for(origin.topic, delay)
        due_ms = int((time.time() + delay) * 1000)
        # What Spring's retry topics carry: the origin and the failure as a dead letter would,
        # and the attempt, when it is due and the first timestamp in retry_topic-* headers.
        await forward(
            self.template,
            record,
            target,
            partition=origin.partition,
            headers=(
                *h.without(record.headers, h.DLT_PREFIX, h.RETRY_PREFIX, h.LEGACY_RETRY_PREFIX),
                *origin.headers(),
                *group_header(context),
                *exception_headers(exc),
                (h.RETRY_ORIGINAL_TIMESTAMP, h.big_integer(origin.timestamp)),
                (h.RETRY_ATTEMPTS, h.int32(delivered + 1)),
                (h.RETRY_BACKOFF_TIMESTAMP, h.big_integer(due_ms)),
            ),
        )
        context.count("retried")  # delivered again, from the retry topic
        log.info(
            "listener %s: %s-%d@%d failed (delivery %d), retry in %.1f s via %s",
            context.client_id,
            record.topic,
            record.partition,
            record.offset,
            delivered,
            delay,
            target,
        )
