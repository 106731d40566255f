"""Share-group listener containers: a listener's members in this process, and the group's
settings (see :mod:`kafka_kit.share.member` for what a member does with each record)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from aiokafka.structs import TopicPartition

from kafka_kit._internal.cancellation import cancel_and_wait
from kafka_kit.errors import ShareGroupError
from kafka_kit.listener.children import Children
from kafka_kit.listener.endpoint import ListenerEndpoint
from kafka_kit.listener.observer import Observers, PrometheusObserver
from kafka_kit.metrics import KafkaMetrics
from kafka_kit.observation import Observation
from kafka_kit.recovery.back_off import FixedBackOff
from kafka_kit.recovery.dead_letter import DeadLetterPublishingRecoverer
from kafka_kit.recovery.error_handler import DefaultErrorHandler, ErrorHandler
from kafka_kit.seek import SeekRequest
from kafka_kit.settings import KafkaSettings
from kafka_kit.share.admin import ShareGroupAdmin, ShareGroupPartition
from kafka_kit.share.member import ShareMember
from kafka_kit.status import ContainerMetrics, ContainerStatus, ListenerStatus, PartitionStatus
from kafka_kit.template import KafkaTemplate

__all__ = [
    "LAG_REFRESH_S",
    "ShareListenerContainer",
    "default_share_error_handler",
    "member_status",
]

log = logging.getLogger(__name__)

LAG_REFRESH_S = 5.0
"""How often a running share listener reads its group's start offsets and lag."""


def default_share_error_handler(template: KafkaTemplate, max_deliveries: int) -> ErrorHandler:
    """Release a failed record at once until its ``max_deliveries``-th delivery, then publish it
    to the dead-letter topic (and reject it).

    Args:
        template: What the dead letters are sent with.
        max_deliveries: Deliveries before the dead letter.
    """
    return DefaultErrorHandler(
        DeadLetterPublishingRecoverer(template),
        FixedBackOff(interval_s=0.0, max_retries=max_deliveries - 1),
    )


def member_status(
    member: ShareMember, partitions: Sequence[ShareGroupPartition] = ()
) -> ContainerStatus:
    """A member's state, assigned partitions and counters.

    Args:
        member: The member.
        partitions: The group's partitions (start offset, lag), shown for those it holds.
    """
    consumer = member.consumer
    assigned: set[TopicPartition] = consumer.assignment if consumer is not None else set()
    group = {(p.topic, p.partition): p for p in partitions}
    rows = []
    for tp in sorted(assigned):
        known = group.get((tp.topic, tp.partition))
        rows.append(
            PartitionStatus(
                topic=tp.topic,
                partition=tp.partition,
                position=None,
                committed=known.start_offset if known is not None else None,
                end_offset=None,
                lag=known.lag if known is not None else None,
                paused=member.paused_by_user,
            )
        )
    return ContainerStatus(
        client_id=member.client_id,
        state=member.state.value,
        error=member.problem,
        partitions=rows,
        records_lag_max=max((r.lag for r in rows if r.lag is not None), default=None),
        metrics=member.metrics,
        share=consumer.describe() if consumer is not None else None,
    )


class ShareListenerContainer(Children):
    """A share-group listener's ``concurrency`` members in this process.

    Unlike a consumer group's, every member may read every partition: members beyond the
    partition count get work too.

    Args:
        endpoint: What ``@kafka_listener(share_group=...)`` declared.
        settings: How to reach the cluster.
        group_id: The share group.
        topics: The topics it reads (placeholders resolved).
        client_id_prefix: Each member's client id is this plus its number.
        error_handler: Decides about failed records.
        dependencies: What handlers may ask for by type.
        prometheus: Where the listener metrics go.
        tracing: A span around every handler call.
    """

    def __init__(
        self,
        endpoint: ListenerEndpoint,
        settings: KafkaSettings,
        *,
        group_id: str,
        topics: tuple[str, ...],
        client_id_prefix: str,
        error_handler: ErrorHandler,
        dependencies: Mapping[type, Any] | None = None,
        prometheus: KafkaMetrics | None = None,
        tracing: Observation | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.settings = settings
        self.group_id = group_id
        self.topics = topics
        self.prometheus = prometheus or KafkaMetrics.on()
        endpoint.check_dependencies(dict(dependencies or {}))
        self.members: list[ShareMember] = []
        for index in range(endpoint.concurrency):
            client_id = f"{client_id_prefix}-{index}"
            member_endpoint = endpoint.traced(tracing, group_id=group_id, client_id=client_id)
            metrics = ContainerMetrics()
            prom = PrometheusObserver(self.prometheus, endpoint.id)
            self.members.append(
                ShareMember(
                    member_endpoint,
                    settings,
                    group_id=group_id,
                    topics=topics,
                    client_id=client_id,
                    error_handler=error_handler,
                    dependencies=dependencies or {},
                    observers=Observers([metrics, prom], prom),
                    metrics=metrics,
                )
            )

        self.partitions: list[ShareGroupPartition] = []
        """The group's partitions with start offset and lag (refreshed while it runs)."""
        self._watch: asyncio.Task[None] | None = None
        self.prometheus.share_in_flight.labels(endpoint.id, group_id).set_function(
            lambda: sum(m.consumer.acquired for m in self.members if m.consumer is not None)
        )

    def _children(self) -> list[ShareMember]:
        return self.members

    @property
    def id(self) -> str:
        """The listener id."""
        return self.endpoint.id

    @property
    def group_configs(self) -> dict[str, str]:
        """What the listener sets on its share group before its members join."""
        props = self.endpoint.properties
        reset = str(props.get("auto_offset_reset") or self.settings.consumer.auto_offset_reset)
        configs = {
            "share.auto.offset.reset": reset if reset in ("earliest", "latest") else "latest",
            # One spare delivery: a record whose dead letter could not be written is tried
            # again rather than archived by the broker unseen.
            "share.delivery.count.limit": str(self.endpoint.max_deliveries + 1),
        }
        lock_ms = props.get("record_lock_duration_ms")
        if lock_ms is not None:
            configs["share.record.lock.duration.ms"] = str(int(lock_ms))
        return configs

    async def start(self) -> None:
        """Configure the group, start every member (if one cannot connect, stop the others and
        raise), then watch the group's lag."""
        await ShareGroupAdmin(self.settings).configure(self.group_id, self.group_configs)
        await super().start()
        if self._watch is None:
            self._watch = asyncio.create_task(self._watch_lag(), name=f"share-lag-{self.id}")

    async def stop(self, timeout_s: float | None = None) -> None:
        """Stop every member (each finishes its record, releases the rest, leaves the group).

        Args:
            timeout_s: How long a handler may take to finish (the shut-down timeout).
        """
        watch, self._watch = self._watch, None
        await cancel_and_wait(watch)
        await super().stop(timeout_s)

    async def _watch_lag(self) -> None:
        """The group's start offsets and lag, as Kafka reports them, every few seconds: for
        the status, the console and ``kafka_share_group_lag``."""
        gauge = self.prometheus.share_group_lag
        async with ShareGroupAdmin(self.settings) as admin:
            while True:
                try:
                    self.partitions = (await admin.describe(self.group_id)).partitions
                except Exception as exc:  # noqa: BLE001 - a view: the next round tries again
                    log.debug("share listener %s: lag not read: %r", self.id, exc)
                for row in self.partitions:
                    labels = (self.group_id, row.topic, str(row.partition))
                    gauge.labels(*labels).set(row.lag if row.lag is not None else float("nan"))
                await asyncio.sleep(LAG_REFRESH_S)

    def seek(self, request: SeekRequest) -> asyncio.Future[list[None]]:
        """Share groups have no positions to move: refused with :class:`ShareGroupError`.

        Args:
            request: The seek asked for.
        """
        raise ShareGroupError(
            f"listener {self.id!r} reads share group {self.group_id!r}, which has no positions "
            "to seek: stop it and move the group's start offsets (ShareGroupAdmin.reset)"
        )

    async def status(self) -> ListenerStatus:
        """The listener with each member's partitions (the group's start offset as
        ``committed``, its lag as Kafka reports it) and counters."""
        lags = [p.lag for p in self.partitions if p.lag is not None]
        return ListenerStatus(
            id=self.id,
            group_id=self.group_id,
            topics=list(self.topics),
            pattern=None,
            state=self.state.value,
            concurrency=len(self.members),
            ack_mode="share",
            records_lag_max=max(lags) if lags else None,
            containers=[member_status(member, self.partitions) for member in self.members],
            share_group=True,
        )
