"""The template's transactions: one open at a time per producer, offsets committed inside.

A task opens one with ``async with template.transaction():``; other tasks queue for theirs. A
send inside that breaks the producer marks it: the transaction then ends by replacing the
producer (the broker aborts the old one's transaction when the new one fences it), not by a retry
that would send outside it.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

from aiokafka import AIOKafkaProducer
from aiokafka.structs import OffsetAndMetadata, TopicPartition

from kafka_kit._internal.cancellation import within
from kafka_kit.errors import TransactionStateError
from kafka_kit.sending.failures import breaks_the_producer

__all__ = ["Transactions"]

Replace = Callable[[AIOKafkaProducer, BaseException], Awaitable[bool]]


class Transactions:
    """Begin, commit or abort the producer's transaction; know whether this task is in one.

    Args:
        transactional_id: The producer's transactional id (``None``: transactions refused).
        producer: The current producer (raises before start).
        replace: Replaces a producer that broke.
        timeout_s: Bounds begin, commit, abort and offset sends.
    """

    def __init__(
        self,
        transactional_id: str | None,
        producer: Callable[[], AIOKafkaProducer],
        replace: Replace,
        timeout_s: float,
    ) -> None:
        self.transactional_id = transactional_id
        self._producer = producer
        self._replace = replace
        self._timeout_s = timeout_s
        self._lock = asyncio.Lock()
        self._open: contextvars.ContextVar[bool] = contextvars.ContextVar(
            f"kafka-template-{id(self)}-transaction", default=False
        )
        # Set when a send inside a transaction broke the producer: replaced when it ends.
        self._broken: AIOKafkaProducer | None = None

    @property
    def active(self) -> bool:
        """Whether the current task is inside a transaction."""
        return self._open.get()

    def broke(self, producer: AIOKafkaProducer) -> None:
        """A send inside the transaction broke ``producer``: replace it when the transaction
        ends.

        Args:
            producer: The producer a send broke.
        """
        self._broken = producer

    @contextlib.asynccontextmanager
    async def open(self) -> AsyncIterator[None]:
        """Sends inside are committed together on normal exit and aborted on an exception."""
        self._producer()  # not started: say so before waiting for the lock
        if self.transactional_id is None:
            raise TransactionStateError(
                "no transactional id: set KAFKA_PRODUCER_TRANSACTIONAL_ID or transactional_id="
            )
        if self._open.get():
            raise TransactionStateError("a transaction is already open in this task")
        # One producer, one open transaction: other tasks queue for theirs.
        async with self._lock:
            producer = self._producer()  # a replacement may have happened meanwhile
            await within(producer.begin_transaction(), self._timeout_s)
            token = self._open.set(True)
            try:
                yield
            except BaseException as failure:
                await self._abort_or_replace(producer, failure)
                raise
            else:
                try:
                    await within(producer.commit_transaction(), self._timeout_s)
                except Exception as failure:
                    if breaks_the_producer(failure, handed_over=True):
                        await self._replace(producer, failure)
                    raise
            finally:
                self._open.reset(token)
                self._broken = None

    async def _abort_or_replace(self, producer: AIOKafkaProducer, failure: BaseException) -> None:
        """End a failed transaction: abort it — or, if a send inside broke the producer, replace
        the producer (its transaction is aborted by the broker when the new one fences it)."""
        if self._broken is producer:
            await self._replace(producer, failure.__cause__ or failure)
            return
        try:
            await within(producer.abort_transaction(), self._timeout_s)
        except Exception as abort_failed:
            if not breaks_the_producer(abort_failed, handed_over=True):
                raise
            await self._replace(producer, abort_failed)

    async def send_offsets(self, offsets: Mapping[TopicPartition, int], group_id: str) -> None:
        """Commit a consumer group's offsets as part of the open transaction (exactly-once).

        Args:
            offsets: The next offset to read, per partition.
            group_id: The consumer group.
        """
        producer = self._producer()
        if not self._open.get():
            raise TransactionStateError("send_offsets_to_transaction needs an open transaction")
        committed = {tp: OffsetAndMetadata(offset, "") for tp, offset in offsets.items()}
        await within(producer.send_offsets_to_transaction(committed, group_id), self._timeout_s)
