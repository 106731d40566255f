"""Handing a poll's records to the handler: one record at a time, as a batch, or in a transaction.

Every failure goes through the container's one :class:`~kafka_kit.listener.failures.FailureRouter`.
Records of a partition are handled in order; a partition that is revoked or backing off is left
alone (its records are read again later).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import ConsumerRecord, TopicPartition

from kafka_kit.ack import Acknowledgment
from kafka_kit.errors import BatchListenerFailedError
from kafka_kit.listener.commits import CommitPolicy
from kafka_kit.listener.endpoint import ListenerEndpoint
from kafka_kit.listener.failures import FailureRouter, first_offsets
from kafka_kit.listener.observer import Observers
from kafka_kit.listener.tracker import PartitionTracker
from kafka_kit.status import ContainerMetrics
from kafka_kit.template import KafkaTemplate

__all__ = ["BatchDispatcher", "Dispatcher", "RecordDispatcher", "TransactionalDispatcher"]

log = logging.getLogger(__name__)

Record = ConsumerRecord[bytes, bytes]
Batch = Mapping[TopicPartition, list[Record]]


@dataclass
class Dispatcher:
    """What every way of dispatching needs from its container."""

    endpoint: ListenerEndpoint
    tracker: PartitionTracker
    router: FailureRouter
    observers: Observers
    metrics: ContainerMetrics
    commits: CommitPolicy
    dependencies: dict[type, Any]
    commit_if_due: Callable[[AIOKafkaConsumer], Awaitable[None]]
    """Commits when the ack mode says a commit is due after one record."""
    not_before: Callable[[Record], float | None] | None = None
    """Epoch seconds before which a record must not be handled (retry topics), or None."""

    async def dispatch(self, consumer: AIOKafkaConsumer, batch: Batch) -> None:
        """Hand ``batch`` (one poll's records) to the handler."""
        raise NotImplementedError

    def _acknowledgment(self, records: Sequence[Record]) -> Acknowledgment | None:
        if not self.endpoint.ack_mode.manual:
            return None
        return Acknowledgment(lambda: self.tracker.mark_handled(records))

    def _skip_blocked(
        self, consumer: AIOKafkaConsumer, batch: Batch
    ) -> dict[TopicPartition, list[Record]]:
        """The partitions that may be handled now; those backing off are read again later."""
        work = {}
        for tp, records in batch.items():
            if tp in self.tracker.revoked:
                continue  # the partition's new owner reads on from the committed offset
            if tp in self.tracker.backoff_until:
                consumer.seek(tp, records[0].offset)  # fetched before it was paused
                continue
            work[tp] = records
        return work


class RecordDispatcher(Dispatcher):
    """One record at a time, partitions one after the other (the default)."""

    async def dispatch(self, consumer: AIOKafkaConsumer, batch: Batch) -> None:
        """Each partition's records, in order."""
        for tp, records in batch.items():
            await self._partition(consumer, tp, records)

    async def _partition(
        self, consumer: AIOKafkaConsumer, tp: TopicPartition, records: list[Record]
    ) -> None:
        # The hot loop: what does not change per record is decided once per partition batch.
        invoke = self.endpoint.invoker.invoke
        dependencies = self.dependencies
        manual = self.endpoint.ack_mode.manual
        per_record = self.commits.checked_per_record
        took = self.observers.handler_took
        clock = time.perf_counter
        tracker = self.tracker
        handled = 0
        try:
            for index, record in enumerate(records):
                if tracker.blocked(tp):
                    if tp not in tracker.revoked:
                        consumer.seek(tp, record.offset)  # backing off: read again after
                    return
                if self.not_before is not None and self._delay(consumer, tp, record):
                    return
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
                    await self.commit_if_due(consumer)
        finally:
            self.observers.count("handled", handled)
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
        """Every record of the poll that may be handled now, in one call."""
        records = [r for part in self._skip_blocked(consumer, batch).values() for r in part]
        if not records:
            return
        acknowledgment = self._acknowledgment(records)
        started = time.perf_counter()
        try:
            await self.endpoint.invoker.invoke(records, acknowledgment, self.dependencies)
        except BatchListenerFailedError as exc:
            await self._one_failed(consumer, exc, records)
            return
        except Exception as exc:  # noqa: BLE001 - any handler failure goes to the router
            if await self.router.route(consumer, exc, records):
                self.tracker.mark_handled(records)
            return
        finally:
            self.observers.handler_took(time.perf_counter() - started)
            self.observers.flush()
        self.observers.count("handled", len(records))
        self.tracker.forget_attempts(records)
        if acknowledgment is None:
            self.tracker.mark_handled(records)

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


@dataclass
class TransactionalDispatcher(Dispatcher):
    """Exactly once: the handler's sends and the input offsets commit in one transaction.

    After a rollback (Spring's after-rollback processing) every record of the poll comes again —
    their outputs were aborted — and the failed record goes to the error handler: delivered again
    after its back-off, or, once recovered, skipped on redelivery with its offset committed by the
    next transaction, so the rest of the poll is still processed exactly once.
    """

    template: KafkaTemplate | None = None
    group_id: str = ""

    async def dispatch(self, consumer: AIOKafkaConsumer, batch: Batch) -> None:
        """The poll's records in one transaction with their offsets."""
        template = self.template
        assert template is not None
        work = self._skip_blocked(consumer, batch)
        if not work:
            return
        tracker = self.tracker
        offsets: dict[TopicPartition, int] = {}
        current: Record | None = None
        handled: list[Record] = []
        try:
            async with template.transaction():
                for tp, records in work.items():
                    for record in records:
                        if (tp, record.offset) in tracker.resolved_in_transaction:
                            offsets[tp] = record.offset + 1  # recovered: only its offset commits
                            continue
                        current = record
                        started = time.perf_counter()
                        try:
                            await self.endpoint.invoker.invoke(record, None, self.dependencies)
                        finally:
                            self.observers.handler_took(time.perf_counter() - started)
                        handled.append(record)
                        offsets[tp] = record.offset + 1
                current = None
                await template.send_offsets_to_transaction(offsets, self.group_id)
        except Exception as exc:  # noqa: BLE001 - rolled back: the error handler decides
            await self._rolled_back(consumer, exc, current, work)
            return
        finally:
            self.observers.flush()
        self.observers.count("handled", len(handled))
        self.metrics.commits += 1
        tracker.forget_attempts(handled)
        tracker.resolved_in_transaction = {
            (tp, offset)
            for tp, offset in tracker.resolved_in_transaction
            if offset >= offsets.get(tp, 0)
        }

    async def _rolled_back(
        self,
        consumer: AIOKafkaConsumer,
        exc: Exception,
        failed: Record | None,
        work: dict[TopicPartition, list[Record]],
    ) -> None:
        rewind = {tp: records[0].offset for tp, records in work.items()}
        if failed is None:
            # Not a handler: the transaction itself (a broker away, a fenced producer).
            log.warning("listener %s: the transaction failed, retrying: %r", self.endpoint.id, exc)
            self.router.context.count("failed")
            self.router.hold(consumer, rewind, 1.0)
            return
        failed_tp = TopicPartition(failed.topic, failed.partition)
        if await self.router.route(consumer, exc, [failed], minimum_back_off_s=0.1):
            self.tracker.resolved_in_transaction.add((failed_tp, failed.offset))
        else:
            # Held at the failed record; the records before it in its partition come again too.
            self.router.hold(
                consumer, {failed_tp: rewind[failed_tp]}, self._backoff_left(failed_tp)
            )
        for tp, offset in rewind.items():
            if tp != failed_tp or (tp, failed.offset) in self.tracker.resolved_in_transaction:
                consumer.seek(tp, offset)

    def _backoff_left(self, tp: TopicPartition) -> float:
        return max(0.0, self.tracker.backoff_until.get(tp, 0.0) - time.monotonic())
