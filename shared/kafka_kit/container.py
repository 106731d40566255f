"""The listener container: a poll loop over ``ConsumerRecord``s that commits handled records only.

One container owns one consumer. Records of a partition are handled one after the other; an offset
is committed only after its handler returned (or the error handler recovered the record), so a
failure never lets a later commit skip an unhandled record. A failed record is redelivered after a
back-off during which its partition is paused while the consumer keeps polling (it stays in its
group). A crashed poll loop is restarted with back-off; ``state`` shows it meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener
from aiokafka.errors import CommitFailedError, IllegalGenerationError, RebalanceInProgressError
from aiokafka.structs import ConsumerRecord, OffsetAndMetadata, TopicPartition

from kafka_kit.ack import AckMode, Acknowledgment
from kafka_kit.error_handler import DefaultErrorHandler, ErrorHandler
from kafka_kit.errors import BatchListenerFailedError
from kafka_kit.listener import ListenerEndpoint, TopicPartitionOffset
from kafka_kit.metrics import KafkaMetrics
from kafka_kit.seek import SeekPosition, SeekRequest
from kafka_kit.settings import KafkaSettings
from kafka_kit.status import ContainerMetrics, ContainerStatus, PartitionStatus
from kafka_kit.template import KafkaTemplate

__all__ = ["ContainerState", "ListenerContainer", "Subscription"]


log = logging.getLogger(__name__)

Record = ConsumerRecord[bytes, bytes]


class ContainerState(StrEnum):
    """Where a container is in its life."""

    STOPPED = "stopped"
    STARTING = "starting"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPING = "stopping"
    FAILED = "failed"


@dataclass(frozen=True)
class Subscription:
    """What a container consumes: topics, a pattern, or explicitly assigned partitions."""

    topics: tuple[str, ...] = ()
    pattern: str | None = None
    partitions: tuple[TopicPartitionOffset, ...] = ()


class _RebalanceListener(ConsumerRebalanceListener):
    def __init__(self, container: ListenerContainer) -> None:
        self.container = container

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self.container._on_revoked(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self.container._on_assigned(assigned)


class ListenerContainer:
    """One consumer and its poll loop, driving one endpoint's handler (auto-commit is off)."""

    RESTART_BACKOFF_S = (1.0, 30.0)

    def __init__(
        self,
        endpoint: ListenerEndpoint,
        settings: KafkaSettings,
        *,
        subscription: Subscription,
        group_id: str | None,
        client_id: str,
        error_handler: ErrorHandler | None = None,
        not_before: Callable[[Record], float | None] | None = None,
        dependencies: Mapping[type, Any] | None = None,
        prometheus: KafkaMetrics | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.settings = settings
        self.subscription = subscription
        self.group_id = group_id
        self.client_id = client_id
        self.error_handler: ErrorHandler = (
            endpoint.error_handler or error_handler or DefaultErrorHandler()
        )
        self.not_before = not_before
        """Epoch seconds before which a record must not be handled (retry topics), or None."""
        self.dependencies: dict[type, Any] = dict(dependencies or {})
        missing = [
            kind.__name__
            for kind in endpoint.invoker.dependencies
            if kind not in self.dependencies
            and not (endpoint.transactional and kind is KafkaTemplate)
        ]
        if missing:
            raise ValueError(
                f"listener {endpoint.id!r} wants {missing} injected: pass them to the registry "
                "as start(..., dependencies={Type: instance})"
            )
        self._transaction_template: KafkaTemplate | None = None
        # Labelled metric children, looked up once (a lookup costs more than an update).
        self.prometheus = prometheus or KafkaMetrics.on()
        self._handler_seconds = self.prometheus.batched_observer(
            self.prometheus.listener_handler_seconds.labels(endpoint.id)
        )
        self._handled_records = self.prometheus.listener_records.labels(endpoint.id, "handled")
        self.state = ContainerState.STOPPED
        self.error: BaseException | None = None
        self.metrics = ContainerMetrics()
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._batch_lock = asyncio.Lock()
        self._pending: dict[TopicPartition, int] = {}
        self._uncommitted = 0
        self._last_commit = time.monotonic()
        self._attempts: dict[tuple[TopicPartition, int], int] = {}
        self._backoff_until: dict[TopicPartition, float] = {}
        self._revoked: set[TopicPartition] = set()
        self._paused_by_user = False
        self._seeks: list[SeekRequest] = []
        self.seeks_applied = 0
        """Seek requests the poll loop has carried out so far."""

    # ================================================================ lifecycle
    async def start(self) -> None:
        """Connect and start polling; raises if the first connection fails (bounded)."""
        if self._task is not None:
            return
        self.state = ContainerState.STARTING
        self.error = None
        self._stopping.clear()
        try:
            consumer = await self._open_consumer()
        except BaseException as exc:
            self.state, self.error = ContainerState.FAILED, exc
            template, self._transaction_template = self._transaction_template, None
            if template is not None:
                await template.stop()
            raise
        self._task = asyncio.create_task(
            self._supervise(consumer), name=f"listener-{self.client_id}"
        )

    async def stop(self, timeout_s: float | None = None) -> None:
        """Finish the current batch and commit it; a handler past ``timeout_s`` is cancelled."""
        task = self._task
        if task is None:
            return
        self.state = ContainerState.STOPPING
        self._stopping.set()
        timeout = self.settings.consumer.shutdown_timeout_s if timeout_s is None else timeout_s
        done, _ = await asyncio.wait({task}, timeout=timeout)
        if not done:
            log.warning(
                "listener %s: batch not done within %.1f s; cancelled", self.client_id, timeout
            )
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._task = None
        template, self._transaction_template = self._transaction_template, None
        if template is not None:
            self.dependencies.pop(KafkaTemplate, None)
            await template.stop()
        self.state = ContainerState.STOPPED

    def pause(self) -> None:
        """Stop fetching (the consumer keeps polling, so it stays in its group)."""
        self._paused_by_user = True
        if self._consumer is not None:
            self._consumer.pause(*self._consumer.assignment())
        if self.state is ContainerState.RUNNING:
            self.state = ContainerState.PAUSED

    def resume(self) -> None:
        """Fetch again (partitions still backing off after a failure stay paused)."""
        self._paused_by_user = False
        if self._consumer is not None:
            self._consumer.resume(
                *(tp for tp in self._consumer.assignment() if tp not in self._backoff_until)
            )
        if self.state is ContainerState.PAUSED:
            self.state = ContainerState.RUNNING

    def seek(self, request: SeekRequest) -> None:
        """Queue a seek; the poll loop applies it before its next poll."""
        self._seeks.append(request)

    @property
    def running(self) -> bool:
        """Whether the poll loop task exists (running, paused, or restarting after a crash)."""
        return self._task is not None

    @property
    def assignment(self) -> set[TopicPartition]:
        """The partitions this container's consumer currently owns."""
        return set(self._consumer.assignment()) if self._consumer is not None else set()

    # ================================================================ supervision
    async def _supervise(self, consumer: AIOKafkaConsumer) -> None:
        delay, max_delay = self.RESTART_BACKOFF_S
        while True:
            self.state = ContainerState.PAUSED if self._paused_by_user else ContainerState.RUNNING
            try:
                await self._poll_loop(consumer)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.exception("listener %s: the poll loop died; restarting", self.client_id)
                self.state, self.error = ContainerState.FAILED, exc
            finally:
                await self._close(consumer)
            # Restart with back-off until it works or the container is stopped.
            while True:
                if await self._stopped_within(delay):
                    return
                delay = min(delay * 2, max_delay)
                self.metrics.restarts += 1
                try:
                    consumer = await self._open_consumer()
                    break
                except Exception as exc:  # noqa: BLE001 - stays FAILED, tries again
                    log.warning("listener %s: restart failed: %r", self.client_id, exc)
                    self.error = exc
            self.error = None

    async def _stopped_within(self, seconds: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
        return self._stopping.is_set()

    async def _open_consumer(self) -> AIOKafkaConsumer:
        if self.endpoint.transactional and self._transaction_template is None:
            # One transactional id per container, stable across restarts: a new incarnation
            # fences the old one and aborts its unfinished transaction.
            template = KafkaTemplate(
                self.settings,
                transactional_id=f"{self.client_id}-tx",
                metrics_registry=self.prometheus.registry,
            )
            await template.start()
            self._transaction_template = template
            self.dependencies[KafkaTemplate] = template
        consumer = AIOKafkaConsumer(**self._consumer_config())
        subscription = self.subscription
        if subscription.partitions:
            consumer.assign([TopicPartition(p.topic, p.partition) for p in subscription.partitions])
        elif subscription.pattern:
            consumer.subscribe(pattern=subscription.pattern, listener=_RebalanceListener(self))
        else:
            consumer.subscribe(list(subscription.topics), listener=_RebalanceListener(self))
        try:
            await asyncio.wait_for(consumer.start(), self._request_timeout_s)
            await self._apply_initial_offsets(consumer)
        except BaseException:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(consumer.stop(), self._request_timeout_s)
            raise
        self._reset_partition_state()
        self._consumer = consumer
        if self._paused_by_user:
            consumer.pause(*consumer.assignment())
        return consumer

    async def _apply_initial_offsets(self, consumer: AIOKafkaConsumer) -> None:
        for spec in self.subscription.partitions:
            tp = TopicPartition(spec.topic, spec.partition)
            if spec.offset == "beginning":
                await consumer.seek_to_beginning(tp)
            elif spec.offset == "end":
                await consumer.seek_to_end(tp)
            elif isinstance(spec.offset, int):
                consumer.seek(tp, spec.offset)

    async def _close(self, consumer: AIOKafkaConsumer) -> None:
        self._consumer = None
        try:
            await self._commit(consumer)
        except Exception as exc:  # noqa: BLE001 - uncommitted records are redelivered: at-least-once
            log.warning("listener %s: final commit failed: %r", self.client_id, exc)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(consumer.stop(), self._request_timeout_s)

    def _reset_partition_state(self) -> None:
        self._pending.clear()
        self._uncommitted = 0
        self._attempts.clear()
        self._backoff_until.clear()
        self._revoked.clear()

    # ================================================================ the poll loop
    async def _poll_loop(self, consumer: AIOKafkaConsumer) -> None:
        while not self._stopping.is_set():
            await self._apply_seeks(consumer)
            self._resume_finished_backoffs(consumer)
            batch = await consumer.getmany(
                timeout_ms=self._poll_timeout_ms(), max_records=self._max_poll_records
            )
            self.metrics.polls += 1
            if batch:
                async with self._batch_lock:
                    if self.endpoint.transactional:
                        await self._handle_in_transaction(consumer, batch)
                    elif self.endpoint.batch:
                        await self._handle_batch(consumer, batch)
                    else:
                        for tp, records in batch.items():
                            await self._handle_partition(consumer, tp, records)
            if self._commit_due(end_of_batch=True):
                await self._commit(consumer)

    def _poll_timeout_ms(self) -> int:
        timeout = self.settings.consumer.poll_timeout_ms
        if self._backoff_until:
            # Wake up in time to resume a partition whose back-off ends.
            remaining = min(self._backoff_until.values()) - time.monotonic()
            timeout = max(0, min(timeout, int(remaining * 1000) + 1))
        return timeout

    async def _handle_partition(
        self, consumer: AIOKafkaConsumer, tp: TopicPartition, records: list[Record]
    ) -> None:
        # The hot loop: what does not change per record is decided once per partition batch.
        invoke = self.endpoint.invoker.invoke
        dependencies = self.dependencies
        manual = self.endpoint.ack_mode.manual
        commits_per_record = self.endpoint.ack_mode not in (AckMode.BATCH, AckMode.MANUAL)
        observe = self._handler_seconds.add
        clock = time.perf_counter
        handled = 0
        try:
            for index, record in enumerate(records):
                if tp in self._revoked:
                    return  # the partition's new owner reads on from the committed offset
                if tp in self._backoff_until:
                    # Fetched before the partition was paused: read again after the back-off.
                    consumer.seek(tp, record.offset)
                    return
                if self.not_before is not None and self._delay(consumer, tp, record):
                    return
                acknowledgment = self._acknowledgment([record]) if manual else None
                started = clock()
                try:
                    await invoke(record, acknowledgment, dependencies)
                except Exception as exc:  # noqa: BLE001 - every handler failure goes there
                    observe(clock() - started)
                    if not await self._on_failure(consumer, exc, records[index : index + 1]):
                        return
                    continue
                observe(clock() - started)
                handled += 1
                if self._attempts:
                    self._attempts.pop((tp, record.offset), None)
                if acknowledgment is None:
                    self._pending[tp] = record.offset + 1
                    self._uncommitted += 1
                if commits_per_record and self._commit_due(end_of_batch=False):
                    await self._commit(consumer)
        finally:
            self.metrics.records_handled += handled
            self._handled_records.inc(handled)
            self._handler_seconds.flush()

    async def _handle_in_transaction(
        self, consumer: AIOKafkaConsumer, batch: dict[TopicPartition, list[Record]]
    ) -> None:
        """Exactly-once: the handler's sends and the input offsets commit in one transaction.

        On any failure the transaction is aborted (its output stays invisible to read_committed
        readers) and the whole poll is delivered again after the error handler's back-off.
        """
        template = self._transaction_template
        assert template is not None and self.group_id is not None
        work = {
            tp: records
            for tp, records in batch.items()
            if tp not in self._revoked and tp not in self._backoff_until
        }
        for tp, records in batch.items():
            if tp in self._backoff_until and tp not in self._revoked:
                consumer.seek(tp, records[0].offset)
        if not work:
            return
        offsets: dict[TopicPartition, int] = {}
        try:
            async with template.transaction():
                for tp, records in work.items():
                    for record in records:
                        async with self._timed():
                            await self.endpoint.invoker.invoke(record, None, self.dependencies)
                        offsets[tp] = record.offset + 1
                await template.send_offsets_to_transaction(offsets, self.group_id)
        except Exception as exc:  # noqa: BLE001 - aborted: the error handler decides when again
            firsts = [records[0] for records in work.values()]
            self.metrics.records_failed += 1
            self.count("failed")
            key = (TopicPartition(firsts[0].topic, firsts[0].partition), firsts[0].offset)
            attempt = self._attempts.get(key, 0) + 1
            outcome = await self.error_handler.handle(exc, firsts[:1], attempt, self)
            self._attempts[key] = attempt
            self.metrics.retries += 1
            self.count("retried")
            until = time.monotonic() + max(outcome.retry_after_s, 0.1)
            for record in firsts:
                tp = TopicPartition(record.topic, record.partition)
                consumer.seek(tp, record.offset)
                self._backoff_until[tp] = until
                consumer.pause(tp)
            return
        handled = sum(len(records) for records in work.values())
        self.metrics.records_handled += handled
        self.metrics.commits += 1
        self._handled_records.inc(handled)
        self._attempts.clear()

    def _delay(self, consumer: AIOKafkaConsumer, tp: TopicPartition, record: Record) -> bool:
        """Hold a record that is not due yet: rewind and pause its partition until it is."""
        due = self.not_before(record) if self.not_before is not None else None
        wait = due - time.time() if due is not None else 0.0
        if wait <= 0:
            return False
        consumer.seek(tp, record.offset)
        self._backoff_until[tp] = time.monotonic() + wait
        consumer.pause(tp)
        self.metrics.delayed += 1
        return True

    async def _handle_batch(
        self, consumer: AIOKafkaConsumer, batch: dict[TopicPartition, list[Record]]
    ) -> None:
        records = [
            record
            for tp, part in batch.items()
            if tp not in self._revoked and tp not in self._backoff_until
            for record in part
        ]
        for tp, part in batch.items():
            if tp in self._backoff_until and tp not in self._revoked:
                consumer.seek(tp, part[0].offset)
        if not records:
            return
        acknowledgment = self._acknowledgment(records)
        try:
            async with self._timed():
                await self.endpoint.invoker.invoke(records, acknowledgment, self.dependencies)
        except BatchListenerFailedError as exc:
            await self._on_batch_record_failure(consumer, exc, records)
            return
        except Exception as exc:  # noqa: BLE001 - any handler failure goes to the error handler
            await self._on_failure(consumer, exc, records)
            return
        self._on_success(records, acknowledgment)

    async def _on_batch_record_failure(
        self, consumer: AIOKafkaConsumer, exc: BatchListenerFailedError, records: list[Record]
    ) -> None:
        """Commit the records before the failed one, handle it alone, deliver the rest again."""
        if not 0 <= exc.index < len(records):
            await self._on_failure(consumer, exc, records)
            return
        failed = records[exc.index]
        self._on_success(records[: exc.index], None)
        recovered = await self._on_failure(consumer, exc, [failed])
        failed_tp = TopicPartition(failed.topic, failed.partition)
        rewind: dict[TopicPartition, int] = {}
        for record in records[exc.index + 1 :]:
            rewind.setdefault(TopicPartition(record.topic, record.partition), record.offset)
        for tp, offset in rewind.items():
            if tp != failed_tp or recovered:  # else it is already rewound to the failed record
                consumer.seek(tp, offset)

    @contextlib.asynccontextmanager
    async def _timed(self) -> AsyncIterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self._handler_seconds.add(time.perf_counter() - started)
            self._handler_seconds.flush()

    def count(self, outcome: str, records: int = 1) -> None:
        """Add ``records`` to the listener's Prometheus counter for ``outcome``."""
        self.prometheus.listener_records.labels(self.endpoint.id, outcome).inc(records)

    def _acknowledgment(self, records: Sequence[Record]) -> Acknowledgment | None:
        if not self.endpoint.ack_mode.manual:
            return None
        return Acknowledgment(lambda: self._mark_handled(records))

    def _on_success(self, records: Sequence[Record], acknowledgment: Acknowledgment | None) -> None:
        self.metrics.records_handled += len(records)
        self._handled_records.inc(len(records))
        if self._attempts:
            for record in records:
                self._attempts.pop(
                    (TopicPartition(record.topic, record.partition), record.offset), None
                )
        if acknowledgment is None:
            self._mark_handled(records)

    async def _on_failure(
        self, consumer: AIOKafkaConsumer, exc: Exception, records: Sequence[Record]
    ) -> bool:
        """Ask the error handler; ``True`` when the records were recovered (move on)."""
        self.metrics.records_failed += 1
        self.count("failed")
        first = records[0]
        key = (TopicPartition(first.topic, first.partition), first.offset)
        attempt = self._attempts.get(key, 0) + 1
        outcome = await self.error_handler.handle(exc, records, attempt, self)
        if outcome.recovered:
            self._attempts.pop(key, None)
            self.metrics.recovered += 1
            self.count("recovered", len(records))
            self._mark_handled(records)
            return True
        self._attempts[key] = attempt
        self.metrics.retries += 1
        self.count("retried")
        # Rewind every partition to its first unhandled record and pause it for the back-off.
        firsts: dict[TopicPartition, int] = {}
        for record in records:
            firsts.setdefault(TopicPartition(record.topic, record.partition), record.offset)
        until = time.monotonic() + outcome.retry_after_s
        for tp, offset in firsts.items():
            consumer.seek(tp, offset)
            self._backoff_until[tp] = until
        consumer.pause(*firsts)
        return False

    def _resume_finished_backoffs(self, consumer: AIOKafkaConsumer) -> None:
        now = time.monotonic()
        due = [tp for tp, until in self._backoff_until.items() if until <= now]
        for tp in due:
            del self._backoff_until[tp]
        assigned = consumer.assignment()
        resumable = [tp for tp in due if tp in assigned]
        if resumable and not self._paused_by_user:
            consumer.resume(*resumable)

    # ================================================================ offsets
    def _mark_handled(self, records: Sequence[Record]) -> None:
        for record in records:
            tp = TopicPartition(record.topic, record.partition)
            if record.offset + 1 > self._pending.get(tp, -1):
                self._pending[tp] = record.offset + 1
        self._uncommitted += len(records)

    def _commit_due(self, *, end_of_batch: bool) -> bool:
        if not self._pending:
            return False
        mode = self.endpoint.ack_mode
        count_due = self._uncommitted >= self.endpoint.ack_count
        time_due = time.monotonic() - self._last_commit >= self.endpoint.ack_time_s
        match mode:
            case AckMode.RECORD | AckMode.MANUAL_IMMEDIATE:
                return True
            case AckMode.BATCH | AckMode.MANUAL:
                return end_of_batch
            case AckMode.COUNT:
                return count_due
            case AckMode.TIME:
                return time_due
            case AckMode.COUNT_TIME:
                return count_due or time_due
        return False

    async def _commit(self, consumer: AIOKafkaConsumer | None = None) -> None:
        consumer = consumer or self._consumer
        if consumer is None or not self._pending or self.group_id is None:
            self._pending.clear()
            return
        offsets = {tp: OffsetAndMetadata(offset, "") for tp, offset in self._pending.items()}
        self._pending = {}
        self._uncommitted = 0
        self._last_commit = time.monotonic()
        try:
            await consumer.commit(offsets)
        except (CommitFailedError, IllegalGenerationError, RebalanceInProgressError) as exc:
            # The group moved on without us (e.g. a handler outlasted max.poll.interval.ms):
            # the partitions' new owners get these records again. At-least-once, not a crash.
            log.warning("listener %s: commit refused after a rebalance: %r", self.client_id, exc)
            return
        self.metrics.commits += 1

    # ================================================================ rebalances
    async def _on_revoked(self, revoked: set[TopicPartition]) -> None:
        # Wait for the batch in flight: its records are handled and committed before the
        # partitions go, and none of their records is handled after that.
        async with self._batch_lock:
            self._revoked |= revoked
            consumer = self._consumer
            if consumer is not None:
                try:
                    await self._commit(consumer)
                except Exception as exc:  # noqa: BLE001 - the new owner redelivers: at-least-once
                    log.warning("listener %s: commit on revoke failed: %r", self.client_id, exc)
            for tp in revoked:
                self._backoff_until.pop(tp, None)
            self._attempts = {k: v for k, v in self._attempts.items() if k[0] not in revoked}

    def _on_assigned(self, assigned: set[TopicPartition]) -> None:
        self.metrics.rebalances += 1
        self._revoked -= assigned
        log.info("listener %s assigned %s", self.client_id, sorted(assigned))
        if self._paused_by_user and self._consumer is not None:
            self._consumer.pause(*assigned)

    # ================================================================ seeks
    async def _apply_seeks(self, consumer: AIOKafkaConsumer) -> None:
        if not self._seeks:
            return
        requests, self._seeks = self._seeks, []
        async with self._batch_lock:
            # Handled records keep their commit; the replay commits lower offsets later.
            await self._commit(consumer)
            for request in requests:
                await self._seek(consumer, request)
                self.seeks_applied += 1

    async def _seek(self, consumer: AIOKafkaConsumer, request: SeekRequest) -> None:
        assigned = consumer.assignment()
        if request.partitions is None:
            tps = sorted(assigned)
        else:
            tps = [TopicPartition(p.topic, p.partition) for p in request.partitions]
            tps = [tp for tp in tps if tp in assigned]
        if not tps:
            return
        for tp in tps:
            self._backoff_until.pop(tp, None)
        self._attempts = {k: v for k, v in self._attempts.items() if k[0] not in tps}
        match request.position:
            case SeekPosition.BEGINNING | SeekPosition.END:
                if request.position is SeekPosition.BEGINNING:
                    await consumer.seek_to_beginning(*tps)
                else:
                    await consumer.seek_to_end(*tps)
                # aiokafka resolves these lazily, at the next fetch: resolve them now, so "the
                # end" is the end when the seek is applied, not whenever the fetch happens.
                for tp in tps:
                    await consumer.position(tp)
            case SeekPosition.OFFSET:
                assert request.offset is not None
                for tp in tps:
                    consumer.seek(tp, request.offset)
            case SeekPosition.TIMESTAMP:
                assert request.timestamp is not None
                found = await consumer.offsets_for_times(dict.fromkeys(tps, request.timestamp))
                ends = await consumer.end_offsets([tp for tp in tps if found.get(tp) is None])
                for tp in tps:
                    hit = found.get(tp)
                    consumer.seek(tp, hit.offset if hit is not None else ends[tp])
        if not self._paused_by_user:
            consumer.resume(*tps)
        log.info("listener %s: seek %s on %s", self.client_id, request.position, tps)

    # ================================================================ status
    async def status(self) -> ContainerStatus:
        """State, assigned partitions with position, committed offset, end offset and lag."""
        consumer = self._consumer
        partitions: list[PartitionStatus] = []
        if consumer is not None:
            tps = sorted(consumer.assignment())
            paused = consumer.paused()
            ends: dict[TopicPartition, int] = {}
            with contextlib.suppress(Exception):
                ends = await asyncio.wait_for(consumer.end_offsets(tps), self._request_timeout_s)
            for tp in tps:
                position = committed = None
                with contextlib.suppress(Exception):
                    position = await asyncio.wait_for(consumer.position(tp), 2.0)
                if self.group_id is not None:
                    with contextlib.suppress(Exception):
                        committed = await asyncio.wait_for(consumer.committed(tp), 2.0)
                end = ends.get(tp)
                lag = end - position if end is not None and position is not None else None
                partitions.append(
                    PartitionStatus(
                        topic=tp.topic,
                        partition=tp.partition,
                        position=position,
                        committed=committed,
                        end_offset=end,
                        lag=lag,
                        paused=tp in paused,
                    )
                )
        lags = [p.lag for p in partitions if p.lag is not None]
        return ContainerStatus(
            client_id=self.client_id,
            state=self.state.value,
            error=repr(self.error) if self.error is not None else None,
            partitions=partitions,
            records_lag_max=max(lags) if lags else None,
            metrics=self.metrics.model_copy(),
        )

    # ================================================================ config
    @property
    def _request_timeout_s(self) -> float:
        return self.settings.request_timeout_ms / 1000

    @property
    def _max_poll_records(self) -> int:
        configured = self.endpoint.properties.get("max_poll_records")
        return int(configured or self.settings.consumer.max_poll_records)

    def _consumer_config(self) -> dict[str, Any]:
        consumer = self.settings.consumer
        config: dict[str, Any] = {
            "bootstrap_servers": self.settings.bootstrap_servers,
            "client_id": self.client_id,
            "group_id": self.group_id,
            "auto_offset_reset": consumer.auto_offset_reset,
            "max_poll_records": consumer.max_poll_records,
            "session_timeout_ms": consumer.session_timeout_ms,
            "heartbeat_interval_ms": consumer.heartbeat_interval_ms,
            "max_poll_interval_ms": consumer.max_poll_interval_ms,
            "isolation_level": consumer.isolation_level,
            "metadata_max_age_ms": consumer.metadata_max_age_ms,
            "request_timeout_ms": self.settings.request_timeout_ms,
        }
        config.update(self.endpoint.properties)
        # The container commits; a client that auto-commits could skip unhandled records.
        config["enable_auto_commit"] = False
        if self.endpoint.transactional:
            config["isolation_level"] = "read_committed"  # never build on aborted input
        return config


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Validate a subscription regex early, with a clear error."""
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"invalid topic pattern {pattern!r}: {exc}") from exc
