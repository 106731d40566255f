"""Request/reply over Kafka, as Spring does it: ``@SendTo`` replies and ``ReplyingKafkaTemplate``.

A listener with ``reply_to=`` publishes what its handler returns (``None``: nothing; a list or
tuple: one record per element, as Spring's ``splitIterables``), with the request's
``kafka_correlationId`` copied, to ``reply_to`` — or, with ``reply_to=True``, to the topic the
request's ``kafka_replyTopic`` header names (Spring's ``@SendTo`` without a value) — and to the
partition its ``kafka_replyPartition`` header names. The reply is keyed as the request was.
In a transactional listener the reply is part of the listener's transaction.

:class:`ReplyingKafkaTemplate` sends a request with a new correlation id (a UUID's 16 bytes, as
Spring's default) and the reply topic in headers, and returns the reply that carries that id.
It reads every partition of its reply topic from the end (no consumer group), so instances may
share a reply topic; a reply for another instance is ignored, a reply that comes after its
request timed out is logged and dropped, never handed to another caller.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import ConsumerRecord, TopicPartition

from kafka_kit import headers as h
from kafka_kit._internal.cancellation import within
from kafka_kit._internal.clients import start_bounded, stop_bounded
from kafka_kit.errors import KafkaKitError, ListenerDeclarationError
from kafka_kit.serialization import converter
from kafka_kit.template import KafkaTemplate, SendResult

__all__ = ["KafkaReplyTimeoutError", "ReplyingKafkaTemplate", "send_reply"]

log = logging.getLogger(__name__)

Record = ConsumerRecord[bytes, bytes]
LATE_REMEMBERED = 10_000
"""Correlation ids of timed-out requests kept to name a late reply as such (bounded)."""


class KafkaReplyTimeoutError(KafkaKitError, TimeoutError):
    """No reply came in time; the message names the topics and the correlation id."""


def reply_topic_of(request: Record, reply_to: str | bool) -> str:
    """Where a reply to ``request`` goes: ``reply_to``, or (``True``) its ``kafka_replyTopic``."""
    if isinstance(reply_to, str):
        return reply_to
    named = h.header(request.headers, h.REPLY_TOPIC)
    if named is None:
        raise ListenerDeclarationError(
            f"the request at {request.topic}-{request.partition}@{request.offset} has no "
            f"{h.REPLY_TOPIC} header to reply to: give the listener reply_to='topic'"
        )
    return named


async def send_reply(
    template: KafkaTemplate, request: Record, result: Any, reply_to: str | bool
) -> list[SendResult]:
    """Publish ``result`` as the reply to ``request`` (nothing for ``None``).

    Args:
        template: Sends the reply.
        request: The record being answered (its correlation id and reply topic).
        result: The handler's result (a list: one reply per element; ``None``: none).
        reply_to: A topic, or ``True`` for the request's ``kafka_replyTopic``.
    """
    if result is None:
        return []
    topic = reply_topic_of(request, reply_to)
    copied: list[tuple[str, bytes]] = []
    correlation = h.last(request.headers, h.CORRELATION_ID)
    if correlation is not None:
        copied.append((h.CORRELATION_ID, correlation))
    raw_partition = h.last(request.headers, h.REPLY_PARTITION)
    partition = int.from_bytes(raw_partition, "big", signed=True) if raw_partition else None
    values = result if isinstance(result, list | tuple) else [result]
    return [
        await template.send(topic, value, key=request.key, partition=partition, headers=copied)
        for value in values
    ]


class _Pending:
    """Requests waiting for replies, by correlation id; the timed-out ones remembered a while."""

    def __init__(self) -> None:
        self.waiting: dict[bytes, asyncio.Future[Record]] = {}
        self.timed_out: OrderedDict[bytes, str] = OrderedDict()

    def arrived(self, reply: Record) -> None:
        correlation = h.last(reply.headers, h.CORRELATION_ID)
        if correlation is None:
            log.debug("reply at %s-%d@%d has no correlation id: ignored",
                      reply.topic, reply.partition, reply.offset)  # fmt: skip
            return
        future = self.waiting.pop(correlation, None)
        if future is not None and not future.done():
            future.set_result(reply)
        elif correlation in self.timed_out:
            log.warning(
                "late reply to the request to %s (correlation id %s) at %s-%d@%d: its caller "
                "timed out, dropped",
                self.timed_out[correlation], correlation.hex(), reply.topic, reply.partition,
                reply.offset,
            )  # fmt: skip
        else:
            # Another instance's (they share the reply topic), or from before this one started.
            log.debug("reply with unknown correlation id %s: not ours", correlation.hex())

    def gave_up(self, correlation: bytes, topic: str) -> None:
        self.waiting.pop(correlation, None)
        self.timed_out[correlation] = topic
        while len(self.timed_out) > LATE_REMEMBERED:
            self.timed_out.popitem(last=False)


class ReplyingKafkaTemplate:
    """Spring's ``ReplyingKafkaTemplate``: ``await replying.request(topic, value)`` → the reply.

    Args:
        template: Sends the requests.
        reply_topic: Where replies come back (the ``kafka_replyTopic`` header).
        default_timeout_s: How long a request waits for its reply.
        reply_partition: Replies on this partition only (``kafka_replyPartition``).
    """

    def __init__(
        self,
        template: KafkaTemplate,
        reply_topic: str,
        *,
        default_timeout_s: float = 5.0,
        reply_partition: int | None = None,
    ) -> None:
        self.template = template
        self.reply_topic = reply_topic
        self.default_timeout_s = default_timeout_s
        self.reply_partition = reply_partition
        """Asked for in ``kafka_replyPartition`` (and the only partition read) when given."""
        self._pending = _Pending()
        self._consumer: AIOKafkaConsumer | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Read the reply topic from its end; requests may be sent once this returns."""
        settings = self.template.settings
        consumer = AIOKafkaConsumer(
            **settings.consumer_config(f"{settings.client_id}-replies", group_id=None)
        )
        try:
            partitions = await self._partitions()
        except Exception as exc:
            raise ListenerDeclarationError(
                f"reply topic {self.reply_topic} cannot be read ({exc}): declare it (e.g. "
                "app.topic) and start the template first"
            ) from exc
        await start_bounded(consumer, settings, "reply consumer")
        try:
            consumer.assign(partitions)
            await consumer.seek_to_end(*partitions)
            for tp in partitions:  # resolved now: a reply sent after this is read
                await consumer.position(tp)
        except BaseException:
            await stop_bounded(consumer, settings.request_timeout_ms / 1000)
            raise
        self._consumer = consumer
        self._reader = asyncio.create_task(self._read(consumer), name="reply-reader")

    async def _partitions(self) -> list[TopicPartition]:
        if self.reply_partition is not None:
            return [TopicPartition(self.reply_topic, self.reply_partition)]
        known = await self.template.partitions_for(self.reply_topic)
        return [TopicPartition(self.reply_topic, p) for p in sorted(known)]

    async def _read(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            try:
                batches = await consumer.getmany(timeout_ms=500)
            except asyncio.CancelledError:
                raise
            except Exception:  # the reader keeps reading: a bad fetch must not end replies
                log.exception("reply consumer of %s failed; reading on", self.reply_topic)
                await asyncio.sleep(1)
                continue
            for records in batches.values():
                for record in records:
                    self._pending.arrived(record)

    async def stop(self) -> None:
        """Stop reading replies; requests still waiting fail with a timeout."""
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            await stop_bounded(consumer, self.template.settings.request_timeout_ms / 1000)

    async def __aenter__(self) -> ReplyingKafkaTemplate:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def request(
        self,
        topic: str,
        value: Any,
        *,
        key: str | bytes | None = None,
        headers: Sequence[tuple[str, bytes]] = (),
        timeout_s: float | None = None,
    ) -> Record:
        """Send ``value`` to ``topic`` as a request and return its reply record.

        Raises :class:`KafkaReplyTimeoutError` when none comes within ``timeout_s``.

        Args:
            topic: Where the request goes.
            value: The request's value.
            key: Its key.
            headers: More headers (the correlation id and reply topic are added).
            timeout_s: How long to wait for the reply (``default_timeout_s`` when omitted).
        """
        if self._reader is None:
            raise KafkaKitError("the replying template is not started: await start() first")
        correlation = uuid.uuid4().bytes
        future: asyncio.Future[Record] = asyncio.get_running_loop().create_future()
        self._pending.waiting[correlation] = future
        request_headers = [
            *headers,
            (h.CORRELATION_ID, correlation),
            (h.REPLY_TOPIC, self.reply_topic.encode()),
        ]
        if self.reply_partition is not None:
            request_headers.append((h.REPLY_PARTITION, h.int32(self.reply_partition)))
        wait_s = self.default_timeout_s if timeout_s is None else timeout_s
        started = time.monotonic()
        try:
            # A send that fails (or whose delivery is unknown) raises its own error.
            await self.template.send(topic, value, key=key, headers=request_headers)
            left = wait_s - (time.monotonic() - started)
            try:
                return await within(asyncio.shield(future), max(left, 0.0))
            except TimeoutError:
                self._pending.gave_up(correlation, topic)
                raise KafkaReplyTimeoutError(
                    f"no reply on {self.reply_topic} to the request sent to {topic} "
                    f"(correlation id {correlation.hex()}) within {wait_s:g} s"
                ) from None
        finally:
            self._pending.waiting.pop(correlation, None)

    async def request_value(
        self, topic: str, value: Any, reply_type: type[Any], **options: Any
    ) -> Any:
        """:meth:`request`, the reply's value read as ``reply_type`` (a model, ``str``, …).

        Args:
            topic: Where the request goes.
            value: The request's value.
            reply_type: What the reply's value is read as.
            options: ``key``, ``headers``, ``timeout_s`` as for :meth:`request`.
        """
        reply = await self.request(topic, value, **options)
        return converter(reply_type)(reply.value)
