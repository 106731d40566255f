"""The listener container: one consumer, its poll loop, its lifecycle and its supervision.

Records of a partition are handled one after the other by a dispatcher; an offset is committed
only after its handler returned (or the error handler dealt with the record), so a failure never
lets a later commit skip an unhandled record. A crashed poll loop is restarted with back-off;
``state`` and ``problem`` show what is wrong meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import CommitFailedError, IllegalGenerationError, RebalanceInProgressError
from aiokafka.structs import ConsumerRecord, OffsetAndMetadata, TopicPartition

from kafka_kit.clients import stop_bounded
from kafka_kit.error_handler import DefaultErrorHandler, ErrorHandler
from kafka_kit.listener.commits import CommitPolicy
from kafka_kit.listener.consumer_setup import Subscription, consumer_config, open_consumer
from kafka_kit.listener.dispatch import (
    BatchDispatcher,
    Dispatcher,
    RecordDispatcher,
    TransactionalDispatcher,
)
from kafka_kit.listener.endpoint import ListenerEndpoint
from kafka_kit.listener.failures import FailureRouter
from kafka_kit.listener.health import FetchWatch
from kafka_kit.listener.observer import Observers, Outcome, PrometheusObserver
from kafka_kit.listener.rebalance import RebalanceBridge
from kafka_kit.listener.seeks import SeekQueue
from kafka_kit.listener.status import container_status
from kafka_kit.listener.tracker import PartitionTracker
from kafka_kit.metrics import KafkaMetrics
from kafka_kit.seek import SeekRequest
from kafka_kit.settings import KafkaSettings
from kafka_kit.status import ContainerMetrics, ContainerStatus
from kafka_kit.template import KafkaTemplate

__all__ = ["ContainerState", "ListenerContainer"]

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


class ListenerContainer:
    """One consumer and its poll loop, driving one endpoint's handler (auto-commit is off).

    It is also the :class:`~kafka_kit.listener.context.ListenerContext` its error handler and
    recoverers get: ids, group, and ``count`` to report outcomes.
    """

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
        self.prometheus = prometheus or KafkaMetrics.on()
        self.metrics = ContainerMetrics()
        self.observers = Observers(
            [self.metrics, prom := PrometheusObserver(self.prometheus, endpoint.id)], prom
        )
        self.state = ContainerState.STOPPED
        self.error: BaseException | None = None
        self.tracker = PartitionTracker()
        self.commits = CommitPolicy(endpoint.ack_mode, endpoint.ack_count, endpoint.ack_time_s)
        self.watch = FetchWatch(settings.consumer.stall_timeout_s)
        self.dispatcher = self._dispatcher(not_before)
        self._seeks = SeekQueue()
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._batch_lock = asyncio.Lock()
        self._last_commit = time.monotonic()
        self._paused_by_user = False
        self._transaction_template: KafkaTemplate | None = None

    def _dispatcher(self, not_before: Callable[[Record], float | None] | None) -> Dispatcher:
        kind: type[Dispatcher] = RecordDispatcher
        if self.endpoint.transactional:
            kind = TransactionalDispatcher
        elif self.endpoint.batch:
            kind = BatchDispatcher
        return kind(
            endpoint=self.endpoint,
            tracker=self.tracker,
            router=FailureRouter(self.error_handler, self, self.tracker),
            observers=self.observers,
            metrics=self.metrics,
            commits=self.commits,
            dependencies=self.dependencies,
            commit_if_due=self._commit_if_due,
            not_before=not_before,
        )

    # ================================================================ the listener context
    @property
    def listener_id(self) -> str:
        """The listener's id."""
        return self.endpoint.id

    def count(self, outcome: Outcome, records: int = 1) -> None:
        """Report ``records`` records that ended with ``outcome`` to every observer."""
        self.observers.count(outcome, records)

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
            await self._stop_transaction_template()
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
        self._seeks.cancel(f"listener {self.client_id} stopped before the seek was applied")
        await self._stop_transaction_template()
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
            resumed = [
                tp for tp in self._consumer.assignment() if tp not in self.tracker.backoff_until
            ]
            self._consumer.resume(*resumed)
            self.watch.restart_clock(resumed)
        if self.state is ContainerState.PAUSED:
            self.state = ContainerState.RUNNING

    def seek(self, request: SeekRequest) -> asyncio.Future[None]:
        """Queue a seek for the poll loop; the future completes once it was applied."""
        return self._seeks.add(request)

    @property
    def running(self) -> bool:
        """Whether the poll loop task exists (running, paused, or restarting after a crash)."""
        return self._task is not None

    @property
    def assignment(self) -> set[TopicPartition]:
        """The partitions this container's consumer currently owns."""
        return set(self._consumer.assignment()) if self._consumer is not None else set()

    @property
    def consumer_config(self) -> dict[str, Any]:
        """What this container's consumer is configured with (auto-commit is always off)."""
        return consumer_config(
            self.endpoint, self.settings, client_id=self.client_id, group_id=self.group_id
        )

    @property
    def problem(self) -> str | None:
        """Why this container is not well — crashed, or fetches unanswered — or ``None``."""
        if self.state is ContainerState.FAILED:
            return f"failed: {self.error!r}"
        consumer = self._consumer
        if consumer is None or self.state is not ContainerState.RUNNING:
            return None
        stalled = self.watch.stalled(consumer)
        if not stalled:
            return None
        names = ", ".join(f"{tp.topic}-{tp.partition}" for tp, _ in stalled)
        return f"stalled: no answer to fetches of {names} for {stalled[0][1]:.0f} s"

    async def status(self) -> ContainerStatus:
        """State, assigned partitions with position, committed offset, end offset and lag."""
        return await container_status(self, self._consumer)

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
            await self._start_transaction_template()
        bridge = RebalanceBridge(
            self._on_revoked, self._on_assigned, self.endpoint.rebalance_listener, self.endpoint.id
        )
        consumer = await open_consumer(
            self.consumer_config, self.subscription, bridge, self.settings
        )
        self.tracker.reset()
        self.watch.reset()
        self._consumer = consumer
        if self._paused_by_user:
            consumer.pause(*consumer.assignment())
        return consumer

    async def _start_transaction_template(self) -> None:
        # One transactional id per container, stable across restarts: a new incarnation fences
        # the old one and aborts its unfinished transaction.
        template = KafkaTemplate(
            self.settings,
            transactional_id=f"{self.client_id}-tx",
            metrics_registry=self.prometheus.registry,
        )
        await template.start()
        self._transaction_template = template
        self.dependencies[KafkaTemplate] = template  # what the handler sends with
        assert isinstance(self.dispatcher, TransactionalDispatcher) and self.group_id is not None
        self.dispatcher.template = template
        self.dispatcher.group_id = self.group_id

    async def _stop_transaction_template(self) -> None:
        template, self._transaction_template = self._transaction_template, None
        if template is not None:
            self.dependencies.pop(KafkaTemplate, None)
            await template.stop()

    async def _close(self, consumer: AIOKafkaConsumer) -> None:
        self._consumer = None
        try:
            await self._commit(consumer)
        except Exception as exc:  # noqa: BLE001 - uncommitted records are redelivered: at-least-once
            log.warning("listener %s: final commit failed: %r", self.client_id, exc)
        await stop_bounded(consumer, self._request_timeout_s)

    # ================================================================ the poll loop
    async def _poll_loop(self, consumer: AIOKafkaConsumer) -> None:
        poll_s = self.settings.consumer.poll_timeout_ms / 1000
        max_records = int(
            self.endpoint.properties.get("max_poll_records")
            or self.settings.consumer.max_poll_records
        )
        while not self._stopping.is_set():
            if self._seeks:
                await self._apply_seeks(consumer)
            self._resume_finished_backoffs(consumer)
            wait_s = self.tracker.wait_s(time.monotonic(), poll_s)
            batch = await consumer.getmany(
                timeout_ms=int(wait_s * 1000) + 1 if wait_s < poll_s else int(poll_s * 1000),
                max_records=max_records,
            )
            self.metrics.polls += 1
            self.watch.polled(batch)
            if batch:
                async with self._batch_lock:
                    await self.dispatcher.dispatch(consumer, batch)
            if self._commit_due(end_of_poll=True):
                await self._commit(consumer)

    def _resume_finished_backoffs(self, consumer: AIOKafkaConsumer) -> None:
        due = self.tracker.due(time.monotonic())
        if not due or self._paused_by_user:
            return
        assigned = consumer.assignment()
        resumable = [tp for tp in due if tp in assigned]
        consumer.resume(*resumable)
        self.watch.restart_clock(resumable)

    # ================================================================ offsets
    def _commit_due(self, *, end_of_poll: bool) -> bool:
        return self.commits.due(
            pending=bool(self.tracker.pending),
            uncommitted=self.tracker.uncommitted,
            since_commit_s=time.monotonic() - self._last_commit,
            end_of_poll=end_of_poll,
        )

    async def _commit_if_due(self, consumer: AIOKafkaConsumer) -> None:
        if self._commit_due(end_of_poll=False):
            await self._commit(consumer)

    async def _commit(self, consumer: AIOKafkaConsumer) -> None:
        pending = self.tracker.take_pending()
        if not pending or self.group_id is None:
            return
        self._last_commit = time.monotonic()
        offsets = {tp: OffsetAndMetadata(offset, "") for tp, offset in pending.items()}
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
            self.tracker.revoke(revoked)
            consumer = self._consumer
            if consumer is not None:
                try:
                    await self._commit(consumer)
                except Exception as exc:  # noqa: BLE001 - the new owner redelivers: at-least-once
                    log.warning("listener %s: commit on revoke failed: %r", self.client_id, exc)

    def _on_assigned(self, assigned: set[TopicPartition]) -> None:
        self.metrics.rebalances += 1
        self.tracker.assign(assigned)
        self.watch.restart_clock(assigned)
        log.info("listener %s assigned %s", self.client_id, sorted(assigned))
        if self._paused_by_user and self._consumer is not None:
            self._consumer.pause(*assigned)

    # ================================================================ seeks
    async def _apply_seeks(self, consumer: AIOKafkaConsumer) -> None:
        async with self._batch_lock:
            # Handled records keep their commit; a replay commits lower offsets later.
            await self._commit(consumer)
            await self._seeks.apply(
                consumer,
                self.tracker,
                paused_by_user=self._paused_by_user,
                timeout_s=self._request_timeout_s,
                listener=self.client_id,
            )

    @property
    def _request_timeout_s(self) -> float:
        return self.settings.request_timeout_ms / 1000
