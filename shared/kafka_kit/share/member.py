"""A share-group member: what happens to each record it acquires.

A member acquires records, hands each to the handler and settles it with the broker:

- the handler returns: **accept** (unless it settled the record itself through an injected
  :class:`~kafka_kit.share.records.ShareAcknowledgment`);
- it raises: the error handler decides, with the record's delivery count as the attempt —
  deliver again after a back-off: the record is **released** when the back-off is over (a timer:
  the member goes on with other records meanwhile, and the broker may give it to any member);
  given up on: the recoverer takes it (by default the dead-letter topic, with the same headers
  as a consumer-group listener's dead letters) and it is **rejected**, never delivered again.
  A recoverer that fails leaves the record released, to be tried again.

The group's ``share.delivery.count.limit`` is set to one above ``max_deliveries`` when the
listener starts, so the broker never archives a record before the recoverer had it, and
``share.auto.offset.reset`` follows the listener's ``auto_offset_reset`` (the kit's default:
``earliest``; Kafka's own is ``latest``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from kafka_kit._internal.cancellation import within
from kafka_kit.errors import BatchListenerFailedError
from kafka_kit.listener.endpoint import ListenerEndpoint
from kafka_kit.listener.observer import Observers, Outcome, ProgressLog
from kafka_kit.listener.supervision import ContainerState, finish, supervise
from kafka_kit.recovery.error_handler import RECOVERED, ErrorHandler, ErrorOutcome
from kafka_kit.settings import KafkaSettings
from kafka_kit.share.consumer import ShareConsumer
from kafka_kit.share.records import AcknowledgeType, ShareAcknowledgment, ShareRecord
from kafka_kit.status import ContainerMetrics

__all__ = ["ShareMember"]

log = logging.getLogger(__name__)


class ShareMember:
    """One share-group member and its loop; the listener context its error handler gets.

    Args:
        endpoint: What ``@kafka_listener(share_group=...)`` declared.
        settings: How to reach the cluster.
        group_id: The share group.
        topics: The topics it reads.
        client_id: The member's client id.
        error_handler: Decides about failed records (attempt = delivery count).
        dependencies: What handlers may ask for by type.
        observers: Hear every outcome.
        metrics: This member's counters.
    """

    def __init__(
        self,
        endpoint: ListenerEndpoint,
        settings: KafkaSettings,
        *,
        group_id: str,
        topics: tuple[str, ...],
        client_id: str,
        error_handler: ErrorHandler,
        dependencies: Mapping[type, Any],
        observers: Observers,
        metrics: ContainerMetrics,
    ) -> None:
        self.endpoint = endpoint
        self.settings = settings
        self.group_id: str | None = group_id
        self.topics = topics
        self.client_id = client_id
        self.error_handler = error_handler
        self.dependencies = dict(dependencies)
        self.observers = observers
        self.metrics = metrics
        self.state = ContainerState.STOPPED
        self.error: BaseException | None = None
        self.consumer: ShareConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._paused = False
        self._releases: dict[asyncio.TimerHandle, Callable[[], None]] = {}
        props = endpoint.properties
        self._max_records = int(props.get("max_poll_records") or settings.consumer.max_poll_records)
        self._record_limit = props.get("share_acquire_mode", "batch_optimized") == "record_limit"

    # ---------------------------------------------------------------- the listener context
    @property
    def listener_id(self) -> str:
        """The listener's id."""
        return self.endpoint.id

    def count(self, outcome: Outcome, records: int = 1) -> None:
        """Report ``records`` records that ended with ``outcome``.

        Args:
            outcome: How they ended.
            records: How many.
        """
        self.observers.count(outcome, records)

    @property
    def paused_by_user(self) -> bool:
        """Whether ``pause()`` was called (and not ``resume()``)."""
        return self._paused

    def restarted(self) -> None:
        """Count a restart of the loop."""
        self.metrics.restarts += 1

    # ---------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        """Join the group and start the loop; raises if the first connection fails."""
        if self._task is not None:
            return
        self.state, self.error = ContainerState.STARTING, None
        self._stopping.clear()
        try:
            consumer = await self._open()
        except BaseException as exc:
            self.state, self.error = ContainerState.FAILED, exc
            raise
        self._task = asyncio.create_task(
            supervise(
                self,
                consumer,  # type: ignore[arg-type]
                run=self._loop,  # type: ignore[arg-type]
                close=self._close,  # type: ignore[arg-type]
                reopen=self._open,  # type: ignore[arg-type]
                stopping=self._stopping,
            ),
            name=f"share-listener-{self.client_id}",
        )

    async def stop(self, timeout_s: float | None = None) -> None:
        """Finish the record in hand, release the rest, leave the group.

        Args:
            timeout_s: How long the handler may take to finish (the shut-down timeout).
        """
        task = self._task
        if task is None:
            return
        self.state = ContainerState.STOPPING
        self._stopping.set()
        timeout = self.settings.consumer.shutdown_timeout_s if timeout_s is None else timeout_s
        await finish(task, timeout, self.client_id)
        self._task = None
        self.state = ContainerState.STOPPED

    @property
    def running(self) -> bool:
        """Whether the loop task exists."""
        return self._task is not None

    def pause(self) -> None:
        """Stop acquiring records (the member stays in the group, heartbeating)."""
        self._paused = True
        if self.state is ContainerState.RUNNING:
            self.state = ContainerState.PAUSED

    def resume(self) -> None:
        """Acquire records again."""
        self._paused = False
        if self.state is ContainerState.PAUSED:
            self.state = ContainerState.RUNNING

    async def _open(self) -> ShareConsumer:
        consumer = ShareConsumer(
            self.settings,
            str(self.group_id),
            self.topics,
            client_id=self.client_id,
            max_records=self._max_records,
            max_wait_ms=self.settings.consumer.poll_timeout_ms,
            record_limit=self._record_limit,
        )
        await consumer.start()
        self.consumer = consumer
        return consumer

    async def _close(self, consumer: ShareConsumer) -> None:
        # Releases not due yet go now: the member leaves and cannot send them later.
        for handle, release in self._releases.items():
            handle.cancel()
            release()
        self._releases.clear()
        self.consumer = None
        await consumer.close()

    # ---------------------------------------------------------------- the loop
    async def _loop(self, consumer: ShareConsumer) -> None:
        poll_s = self.settings.consumer.poll_timeout_ms / 1000
        progress = ProgressLog.every(self.endpoint.id, self.settings.consumer.progress_log_s)
        # One fetch ahead: the next batch (carrying the acknowledgements of the one before) is
        # on its way while this one is handled, so the member never waits for the broker
        # between batches. It holds up to two batches' records at a time.
        ahead: asyncio.Task[list[ShareRecord]] | None = None
        try:
            while not self._stopping.is_set():
                if self._paused and ahead is None:
                    await consumer.commit()
                    with contextlib.suppress(TimeoutError):
                        await within(self._stopping.wait(), poll_s)
                    continue
                records = await (ahead or consumer.poll(poll_s))
                ahead = None
                self.metrics.polls += 1
                if progress is not None:
                    progress.tick()
                if not self._stopping.is_set() and not self._paused:
                    ahead = asyncio.create_task(consumer.poll(poll_s))
                await self._batch(consumer, records)
        finally:
            if ahead is not None:
                # Stopping: what the last fetch acquired goes back to the group at once.
                with contextlib.suppress(Exception):
                    self._give_back(consumer, await ahead)

    async def _batch(self, consumer: ShareConsumer, records: list[ShareRecord]) -> None:
        if self.endpoint.batch:
            if records and not (self._stopping.is_set() or self._paused):
                await self._handle_all(consumer, records)
            elif records:
                self._give_back(consumer, records)
            return
        handled = 0
        try:
            for index, record in enumerate(records):
                if self._stopping.is_set() or self._paused:
                    self._give_back(consumer, records[index:])
                    return
                handled += await self._handle(consumer, record)
        finally:
            self.count("handled", handled)
            self.observers.flush()

    def _give_back(self, consumer: ShareConsumer, records: list[ShareRecord]) -> None:
        for record in records:
            consumer.acknowledge(record, AcknowledgeType.RELEASE)
        self.count("released", len(records))

    async def _handle(self, consumer: ShareConsumer, record: ShareRecord) -> bool:
        """Handle one record; ``True`` when it was handled and accepted."""
        acknowledgment: ShareAcknowledgment | None = None
        if self.endpoint.invoker.takes_acknowledgment:

            def settle(kind: AcknowledgeType) -> None:
                consumer.acknowledge(record, kind)
                if kind is not AcknowledgeType.ACCEPT:
                    self.count("released" if kind is AcknowledgeType.RELEASE else "rejected")

            acknowledgment = ShareAcknowledgment(settle)
        started = time.perf_counter()
        try:
            await self.endpoint.invoke(record, acknowledgment, self.dependencies)
        except Exception as exc:  # noqa: BLE001 - every handler failure goes to the error handler
            self.observers.handler_took(time.perf_counter() - started)
            if acknowledgment is not None and acknowledgment.kind is not None:
                self.count("failed")  # the handler settled it before it raised
                return False
            await self._failed(consumer, record, exc)
            return False
        self.observers.handler_took(time.perf_counter() - started)
        if acknowledgment is None or acknowledgment.kind is None:
            consumer.acknowledge(record, AcknowledgeType.ACCEPT)
            return True
        return acknowledgment.kind is AcknowledgeType.ACCEPT

    async def _handle_all(self, consumer: ShareConsumer, records: list[ShareRecord]) -> None:
        """A batch listener's call: every record accepted when it returns; a
        :class:`BatchListenerFailedError` accepts those before the failed one, sends that one to
        the error handler and hands the rest to the handler again; any other failure sends
        each record to the error handler (each with its own delivery count)."""
        decided: AcknowledgeType | None = None
        acknowledgment: ShareAcknowledgment | None = None
        if self.endpoint.invoker.takes_acknowledgment:

            def settle(kind: AcknowledgeType) -> None:
                nonlocal decided
                decided = kind

            acknowledgment = ShareAcknowledgment(settle)
        started = time.perf_counter()
        try:
            await self.endpoint.invoke(records, acknowledgment, self.dependencies)
        except BatchListenerFailedError as exc:
            if not 0 <= exc.index < len(records):
                for record in records:
                    await self._failed(consumer, record, exc)
                return
            for record in records[: exc.index]:
                consumer.acknowledge(record, AcknowledgeType.ACCEPT)
            self.count("handled", exc.index)
            await self._failed(consumer, records[exc.index], exc)
            if exc.index + 1 < len(records):
                await self._handle_all(consumer, records[exc.index + 1 :])
            return
        except Exception as exc:  # noqa: BLE001 - every handler failure goes to the error handler
            for record in records:
                await self._failed(consumer, record, exc)
            return
        finally:
            self.observers.handler_took(time.perf_counter() - started)
        kind = decided or AcknowledgeType.ACCEPT
        for record in records:
            consumer.acknowledge(record, kind)
        if kind is AcknowledgeType.ACCEPT:
            self.count("handled", len(records))
        else:
            self.count("released" if kind is AcknowledgeType.RELEASE else "rejected", len(records))

    async def _failed(self, consumer: ShareConsumer, record: ShareRecord, exc: Exception) -> None:
        self.count("failed")
        attempt = record.delivery_count
        outcome = await self.error_handler.handle(exc, [record], attempt, self)
        if not outcome.recovered and attempt >= self.endpoint.max_deliveries:
            outcome = await self._last_delivery(record, exc)
        if outcome.recovered:
            consumer.acknowledge(record, AcknowledgeType.REJECT)
            self.count("rejected")
            return
        self.count("retried")
        delay = outcome.retry_after_s
        if delay <= 0:
            self._release(consumer, record)
            return
        # The back-off runs on a timer: this member handles other records meanwhile, and the
        # record stays locked to it until the release (or until its lock runs out).
        loop = asyncio.get_running_loop()
        handle: asyncio.TimerHandle

        def release() -> None:
            self._release(consumer, record)

        def due() -> None:
            self._releases.pop(handle, None)
            if self.consumer is consumer:
                release()

        handle = loop.call_later(delay, due)
        self._releases[handle] = release

    async def _last_delivery(self, record: ShareRecord, exc: Exception) -> ErrorOutcome:
        """``max_deliveries`` reached while the error handler would retry: its recoverer
        takes the record now (the broker would archive it unseen after one more)."""
        recoverer = getattr(self.error_handler, "recoverer", None)
        if recoverer is None:
            log.error(
                "share listener %s: %s-%d@%d failed %d times and the error handler has no "
                "recoverer: rejected: %r",
                self.client_id,
                record.topic,
                record.partition,
                record.offset,
                record.delivery_count,
                exc,
            )
            return RECOVERED
        try:
            await recoverer.recover(record, exc, self)
        except Exception as failure:  # noqa: BLE001 - released: delivered once more
            log.error("share listener %s: recovering failed: %r", self.client_id, failure)
            return ErrorOutcome.retry(0.0)
        self.count("recovered")
        return RECOVERED

    def _release(self, consumer: ShareConsumer, record: ShareRecord) -> None:
        consumer.acknowledge(record, AcknowledgeType.RELEASE)
        self.count("released")

    # ---------------------------------------------------------------- views
    @property
    def problem(self) -> str | None:
        """Why this member is not well, or ``None``."""
        if self.state is ContainerState.FAILED:
            return f"failed: {self.error!r}"
        return None
