"""The listener container: one consumer, its poll loop, its lifecycle and its supervision.

Records of a partition are handled one after the other by a dispatcher; an offset is committed
only after its handler returned (or the error handler dealt with the record), so a failure never
lets a later commit skip an unhandled record. A crashed poll loop is restarted with back-off;
``state`` and ``problem`` show what is wrong meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import ConsumerRecord, TopicPartition

from kafka_kit._internal.clients import NOT_ALLOWED, stop_bounded
from kafka_kit.listener.commits import CommitPolicy, OffsetCommitter
from kafka_kit.listener.consumer_setup import Subscription, consumer_config, open_consumer
from kafka_kit.listener.dispatch import dispatcher_for
from kafka_kit.listener.endpoint import ListenerEndpoint
from kafka_kit.listener.failures import FailureRouter
from kafka_kit.listener.health import FetchWatch
from kafka_kit.listener.observer import Observers, Outcome, ProgressLog, PrometheusObserver
from kafka_kit.listener.rebalance import RebalanceBridge
from kafka_kit.listener.seeks import SeekQueue
from kafka_kit.listener.status import container_status
from kafka_kit.listener.supervision import ContainerState, finish, supervise
from kafka_kit.listener.tracker import PartitionTracker
from kafka_kit.metrics import KafkaMetrics
from kafka_kit.observation import Observation
from kafka_kit.recovery.error_handler import DefaultErrorHandler, ErrorHandler
from kafka_kit.seek import SeekRequest
from kafka_kit.settings import KafkaSettings
from kafka_kit.status import ContainerMetrics, ContainerStatus

__all__ = ["ContainerState", "ListenerContainer"]

log = logging.getLogger(__name__)

Record = ConsumerRecord[bytes, bytes]


class ListenerContainer:
    """One consumer and its poll loop, driving one endpoint's handler (auto-commit is off).

    It is also the :class:`~kafka_kit.listener.context.ListenerContext` its error handler and
    recoverers get: ids, group, and ``count`` to report outcomes.

    Args:
        endpoint: What ``@kafka_listener`` declared.
        settings: How the consumer reaches the cluster.
        subscription: The topics, pattern or partitions to consume.
        group_id: The consumer group (``None``: explicit partitions only).
        client_id: The consumer's client id.
        error_handler: For the endpoint when it has none of its own (``DefaultErrorHandler`` when
            neither).
        not_before: When a record may be handled (retry topics' back-off), from its headers.
        dependencies: What handlers may ask for by type.
        prometheus: Where the listener metrics go.
        tracing: A span around every handler call (:class:`~kafka_kit.tracing.KafkaTracing`).
    """

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
        tracing: Observation | None = None,
    ) -> None:
        endpoint = endpoint.traced(tracing, group_id=group_id, client_id=client_id)
        self.endpoint = endpoint
        self.settings = settings
        self.subscription = subscription
        self.group_id = group_id
        self.client_id = client_id
        self.error_handler: ErrorHandler = (
            endpoint.error_handler or error_handler or DefaultErrorHandler()
        )
        self.dependencies: dict[type, Any] = dict(dependencies or {})
        endpoint.check_dependencies(self.dependencies)
        self.prometheus = prometheus or KafkaMetrics.on()
        self.metrics = ContainerMetrics()
        prom = PrometheusObserver(self.prometheus, endpoint.id)
        self.progress = ProgressLog.every(endpoint.id, settings.consumer.progress_log_s)
        self.observers = Observers(
            [self.metrics, prom, *([self.progress] if self.progress is not None else [])], prom
        )
        self.state = ContainerState.STOPPED
        self.error: BaseException | None = None
        self.tracker = PartitionTracker()
        self.committer = OffsetCommitter(
            CommitPolicy(endpoint.ack_mode, endpoint.ack_count, endpoint.ack_time_s),
            self.tracker,
            self.metrics,
            group_id=group_id,
            client_id=client_id,
        )
        self.watch = FetchWatch(settings.consumer.stall_timeout_s)
        self.dispatcher = dispatcher_for(
            endpoint,
            tracker=self.tracker,
            router=FailureRouter(self.error_handler, self, self.tracker),
            observers=self.observers,
            metrics=self.metrics,
            committer=self.committer,
            dependencies=self.dependencies,
            not_before=not_before,
            metrics_registry=self.prometheus.registry,
        )
        self._seeks = SeekQueue()
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._batch_lock = asyncio.Lock()
        self._paused_by_user = False
        self._rebalances: RebalanceBridge | None = None

    # ================================================================ the listener context
    @property
    def listener_id(self) -> str:
        """The listener's id."""
        return self.endpoint.id

    def count(self, outcome: Outcome, records: int = 1) -> None:
        """Report ``records`` records that ended with ``outcome`` to every observer.

        Args:
            outcome: How they ended (``handled``, ``failed``, ``dead_lettered``…).
            records: How many.
        """
        self.observers.count(outcome, records)

    # ================================================================ lifecycle
    async def start(self) -> None:
        """Connect and start polling; raises if the first connection fails (bounded).

        A connection the cluster's ACLs refuse does not raise: the listener stays ``FAILED``
        with the reason (``/health`` red) and tries again with back-off, as after a crash —
        the rest of the service runs while someone grants the access.
        """
        if self._task is not None:
            return
        self.state = ContainerState.STARTING
        self.error = None
        self._stopping.clear()
        consumer: AIOKafkaConsumer | None
        try:
            consumer = await self._open_consumer()
        except Exception as exc:
            self.state, self.error = ContainerState.FAILED, exc
            if not isinstance(exc.__cause__, NOT_ALLOWED):
                await self.dispatcher.close()
                raise
            log.error("listener %s: not allowed; retrying: %s", self.client_id, exc)
            consumer = None
        except BaseException as exc:
            self.state, self.error = ContainerState.FAILED, exc
            await self.dispatcher.close()
            raise
        self._task = asyncio.create_task(
            supervise(
                self,
                consumer,
                run=self._poll_loop,
                close=self._close,
                reopen=self._open_consumer,
                stopping=self._stopping,
            ),
            name=f"listener-{self.client_id}",
        )

    async def stop(self, timeout_s: float | None = None) -> None:
        """Finish the current batch and commit it; a handler past ``timeout_s`` is cancelled.

        Args:
            timeout_s: How long the handler may take to finish (the shut-down timeout when omitted).
        """
        task = self._task
        if task is None:
            return
        self.state = ContainerState.STOPPING
        self._stopping.set()
        timeout = self.settings.consumer.shutdown_timeout_s if timeout_s is None else timeout_s
        await finish(task, timeout, self.client_id)
        self._task = None
        self._seeks.cancel(f"listener {self.client_id} stopped before the seek was applied")
        await self.dispatcher.close()
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
        """Queue a seek for the poll loop; the future completes once it was applied.

        Args:
            request: Where to: beginning, end, an offset or a timestamp, on some partitions or all.
        """
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
        return self.watch.describe(consumer)

    async def status(self) -> ContainerStatus:
        """State, assigned partitions with position, committed offset, end offset and lag."""
        return await container_status(
            self._consumer,
            client_id=self.client_id,
            group_id=self.group_id,
            state=self.state.value,
            error=self.problem,
            metrics=self.metrics,
            timeout_s=self.settings.request_timeout_ms / 1000,
        )

    # ================================================================ supervision
    @property
    def paused_by_user(self) -> bool:
        """Whether ``pause()`` was called (and not ``resume()``)."""
        return self._paused_by_user

    def restarted(self) -> None:
        """Count a restart of the poll loop."""
        self.metrics.restarts += 1

    async def _open_consumer(self) -> AIOKafkaConsumer:
        await self.dispatcher.open(self.settings, self.client_id, self.group_id)
        bridge = RebalanceBridge(
            self._on_revoked, self._on_assigned, self.endpoint.rebalance_listener, self.endpoint.id
        )
        self._rebalances = bridge
        consumer = await open_consumer(
            self.consumer_config, self.subscription, bridge, self.settings
        )
        self.tracker.reset()
        self.watch.reset()
        self._consumer = consumer
        if self._paused_by_user:
            consumer.pause(*consumer.assignment())
        return consumer

    async def _close(self, consumer: AIOKafkaConsumer) -> None:
        self._consumer = None
        await self.committer.commit_quietly(consumer, "on close")
        if self._rebalances is not None and not self.subscription.partitions:
            # Like a rebalance: the user's hook hears the partitions go, after the commit.
            await self._rebalances.closing(set(consumer.assignment()))
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
            if self.progress is not None:
                self.progress.tick()
            if batch:
                async with self._batch_lock:
                    await self.dispatcher.dispatch(consumer, batch)
            if self.committer.due(end_of_poll=True):
                await self.committer.commit(consumer)

    def _resume_finished_backoffs(self, consumer: AIOKafkaConsumer) -> None:
        due = self.tracker.due(time.monotonic())
        if not due or self._paused_by_user:
            return
        assigned = consumer.assignment()
        resumable = [tp for tp in due if tp in assigned]
        consumer.resume(*resumable)
        self.watch.restart_clock(resumable)

    # ================================================================ rebalances
    async def _on_revoked(self, revoked: set[TopicPartition]) -> None:
        # Wait for the batch in flight: its records are handled and committed before the
        # partitions go, and none of their records is handled after that.
        async with self._batch_lock:
            self.tracker.revoke(revoked)
            if self._consumer is not None:
                await self.committer.commit_quietly(self._consumer, "on revoke")

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
            await self.committer.commit(consumer)
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
