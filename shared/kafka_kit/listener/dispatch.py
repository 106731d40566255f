"""Handing a poll's records to the handler: one record at a time, or as a batch.

In a transaction: :mod:`kafka_kit.listener.transactions`.

Every failure goes through the container's one :class:`~kafka_kit.listener.failures.FailureRouter`.
Records of a partition are handled in order; a partition that is revoked or backing off is left
alone (its records are read again later).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import ConsumerRecord, TopicPartition

from kafka_kit.errors import BatchListenerFailedError
from kafka_kit.listener.arguments import UnreadableRecordError
from kafka_kit.listener.dispatcher import Batch, Dispatcher, first_offsets
from kafka_kit.listener.endpoint import ListenerEndpoint
from kafka_kit.listener.transactions import TransactionalDispatcher

__all__ = ["BatchDispatcher", "Dispatcher", "RecordDispatcher", "dispatcher_for"]

log = logging.getLogger(__name__)

Record = ConsumerRecord[bytes, bytes]


class RecordDispatcher(Dispatcher):
    """One record at a time, partitions one after the other (the default)."""

    async def dispatch(self, consumer: AIOKafkaConsumer, batch: Batch) -> None:
        """Each partition's records, in order.

        Args:
            consumer: The container's consumer.
            batch: One poll's records, by partition.
        """
        for tp, records in batch.items():
            await self._partition(consumer, tp, records)

    async def _partition(
        self, consumer: AIOKafkaConsumer, tp: TopicPartition, records: list[Record]
    ) -> None:
        # The hot loop: what does not change per record is decided once per partition batch.
        invoke = self.endpoint.invoke
        keep = self.endpoint.record_filter
        dependencies = self.dependencies
        manual = self.endpoint.ack_mode.manual
        per_record = self.committer.policy.checked_per_record
        commit_if_due = self.committer.commit_if_due
        took = self.observers.handler_took
        clock = time.perf_counter
        tracker = self.tracker
        # Mutated in place by the tracker: safe to hold for the loop.
        revoked, backing_off = tracker.revoked, tracker.backoff_until
        not_before = self.not_before
        handled = filtered = 0
        try:
            for index, record in enumerate(records):
                if tp in revoked:
                    return  # the partition's new owner reads on from the committed offset
                if tp in backing_off:
                    consumer.seek(tp, record.offset)  # fetched before it was paused: read again
                    return
                if not_before is not None and self._delay(consumer, tp, record):
                    return
                if keep is not None and not keep(record):
                    filtered += 1
                    tracker.mark_handled([record])  # never handled, yet done with
                    continue
                acknowledgment = self._acknowledgment([record]) if manual else None
                started = clock()
                try:
                    await invoke(record, acknowledgment, dependencies)
                except Exception as exc:  # noqa: BLE001 - every handler failure goes there
                    took(clock() - started)
                    if not await self.router.route(consumer, exc, records[index : index + 1]):
                        return
                    tracker.mark_handled([record])
                    continue
                took(clock() - started)
                handled += 1
                if tracker.attempts:
                    tracker.attempts.pop((tp, record.offset), None)
                if acknowledgment is None:
                    tracker.pending[tp] = record.offset + 1
                    tracker.uncommitted += 1
                if per_record:
                    await commit_if_due(consumer)
        finally:
            self.observers.count("handled", handled)
            self.observers.count("filtered", filtered)
            self.observers.flush()

    def _delay(self, consumer: AIOKafkaConsumer, tp: TopicPartition, record: Record) -> bool:
        """Hold a record that is not due yet: rewind and pause its partition until it is."""
        due = self.not_before(record) if self.not_before is not None else None
        wait = due - time.time() if due is not None else 0.0
        if wait <= 0:
            return False
        self.router.hold(consumer, {tp: record.offset}, wait)
        self.metrics.delayed += 1
        return True


class BatchDispatcher(Dispatcher):
    """The whole poll in one handler call (``batch=True``)."""

    async def dispatch(self, consumer: AIOKafkaConsumer, batch: Batch) -> None:
        """Every record of the poll that may be handled now, in one call.

        Args:
            consumer: The container's consumer.
            batch: One poll's records, by partition.
        """
        records = [r for part in self._skip_blocked(consumer, batch).values() for r in part]
        keep = self.endpoint.record_filter
        if keep is None:
            if records:
                await self._deliver(consumer, records)
            return
        kept: list[Record] = []
        dropped: list[Record] = []
        for record in records:
            (kept if keep(record) else dropped).append(record)
        self.observers.count("filtered", len(dropped))
        # Done with once the kept ones are (a failure reads them again, filtered again); with
        # manual acks the acknowledgment commits, not the filter.
        done = not kept or await self._deliver(consumer, kept)
        if done and not self.endpoint.ack_mode.manual:
            self.tracker.mark_handled(dropped)

    async def _deliver(self, consumer: AIOKafkaConsumer, records: list[Record]) -> bool:
        """Hand ``records`` to the handler; ``True`` when all of them are done with."""
        acknowledgment = self._acknowledgment(records)
        started = time.perf_counter()
        try:
            await self.endpoint.invoke(records, acknowledgment, self.dependencies)
        except UnreadableRecordError as exc:
            # The handler saw nothing: the records before the unreadable one go to it first.
            if exc.index == 0 or await self._deliver(consumer, records[: exc.index]):
                await self._one_failed(consumer, exc, records)
            return False
        except BatchListenerFailedError as exc:
            await self._one_failed(consumer, exc, records)
            return False
        except Exception as exc:  # noqa: BLE001 - any handler failure goes to the router
            if await self.router.route(consumer, exc, records):
                self.tracker.mark_handled(records)
            return False
        finally:
            self.observers.handler_took(time.perf_counter() - started)
            self.observers.flush()
        self.observers.count("handled", len(records))
        self.tracker.forget_attempts(records)
        if acknowledgment is None:
            self.tracker.mark_handled(records)
        return True

    async def _one_failed(
        self, consumer: AIOKafkaConsumer, exc: BatchListenerFailedError, records: list[Record]
    ) -> None:
        """Commit the records before the failed one, route it alone, deliver the rest again."""
        if not 0 <= exc.index < len(records):
            if await self.router.route(consumer, exc, records):
                self.tracker.mark_handled(records)
            return
        before, failed, after = records[: exc.index], records[exc.index], records[exc.index + 1 :]
        self.observers.count("handled", len(before))
        self.tracker.mark_handled(before)
        resolved = await self.router.route(consumer, exc, [failed])
        if resolved:
            self.tracker.mark_handled([failed])
        failed_tp = TopicPartition(failed.topic, failed.partition)
        for tp, offset in first_offsets(after).items():
            if tp != failed_tp or resolved:  # else it is already rewound to the failed record
                consumer.seek(tp, offset)


def dispatcher_for(endpoint: ListenerEndpoint, **parts: Any) -> Dispatcher:
    """The dispatcher the endpoint asks for: transactional, batch, or one record at a time.

    Args:
        endpoint: The listener's declaration.
        parts: The container's parts (:class:`~kafka_kit.listener.dispatcher.Dispatcher`'s fields).
    """
    if endpoint.transactional:
        return TransactionalDispatcher(endpoint=endpoint, **parts)
    if endpoint.batch:
        return BatchDispatcher(endpoint=endpoint, **parts)
    return RecordDispatcher(endpoint=endpoint, **parts)
