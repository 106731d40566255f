"""Exactly-once dispatch: the handler's sends and the input offsets commit in one transaction.

After a rollback (Spring's after-rollback processing) every record of the poll comes again — its
outputs were aborted — and the record that failed goes to the error handler: delivered again after
its back-off, or, once recovered, skipped on redelivery with its offset committed by the next
transaction, so the rest of the poll is still processed exactly once.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import ConsumerRecord, TopicPartition

from kafka_kit.listener.dispatcher import Batch, Dispatcher
from kafka_kit.settings import KafkaSettings
from kafka_kit.template import KafkaTemplate

__all__ = ["TransactionalDispatcher"]

log = logging.getLogger(__name__)

Record = ConsumerRecord[bytes, bytes]


@dataclass
class TransactionalDispatcher(Dispatcher):
    """The poll's records and their offsets in one transaction; after a rollback, the failed
    record goes to the error handler."""

    template: KafkaTemplate | None = None
    """The transactional template, once opened."""
    group_id: str = ""
    """The group whose offsets commit in the transactions."""

    async def open(self, settings: KafkaSettings, client_id: str, group_id: str | None) -> None:
        """A transactional template for the handler to send with (kept across restarts).

        Args:
            settings: How to reach the cluster.
            client_id: The consumer's client id (the transactional id is made from it).
            group_id: Its group (the offsets sent in the transaction are its).
        """
        if self.template is not None:
            return
        assert group_id is not None
        # One transactional id per container, stable across restarts: a new incarnation fences
        # the old one and aborts its unfinished transaction.
        template = KafkaTemplate(
            settings, transactional_id=f"{client_id}-tx", metrics_registry=self.metrics_registry
        )
        await template.start()
        self.template, self.group_id = template, group_id
        self.dependencies[KafkaTemplate] = template  # what the handler sends with

    async def close(self) -> None:
        """Stop the transactional template."""
        template, self.template = self.template, None
        if template is not None:
            self.dependencies.pop(KafkaTemplate, None)
            await template.stop()

    async def dispatch(self, consumer: AIOKafkaConsumer, batch: Batch) -> None:
        """The poll's records in one transaction with their offsets.

        Args:
            consumer: The container's consumer.
            batch: One poll's records, by partition.
        """
        template = self.template
        assert template is not None
        work = self._skip_blocked(consumer, batch)
        if not work:
            return
        tracker = self.tracker
        offsets: dict[TopicPartition, int] = {}
        current: Record | None = None
        handled: list[Record] = []
        keep = self.endpoint.record_filter
        filtered = 0
        try:
            async with template.transaction():
                for tp, records in work.items():
                    for record in records:
                        if (tp, record.offset) in tracker.resolved_in_transaction:
                            offsets[tp] = record.offset + 1  # recovered: only its offset commits
                            continue
                        if keep is not None and not keep(record):
                            offsets[tp] = record.offset + 1  # dropped: only its offset commits
                            filtered += 1
                            continue
                        current = record
                        started = time.perf_counter()
                        try:
                            await self.endpoint.invoke(record, None, self.dependencies)
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
        self.observers.count("filtered", filtered)
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
