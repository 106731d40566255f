"""``concurrency=N``: N listener containers, N consumers of one group, in one process."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

from aiokafka.structs import ConsumerRecord

from kafka_kit.listener.children import Children
from kafka_kit.listener.consumer_setup import Subscription
from kafka_kit.listener.container import ListenerContainer
from kafka_kit.listener.endpoint import ListenerEndpoint
from kafka_kit.metrics import KafkaMetrics
from kafka_kit.observation import Observation
from kafka_kit.recovery.error_handler import ErrorHandler
from kafka_kit.seek import SeekRequest
from kafka_kit.settings import KafkaSettings
from kafka_kit.status import ListenerStatus

__all__ = ["ConcurrentListenerContainer"]


class ConcurrentListenerContainer(Children):
    """Runs one endpoint with ``concurrency`` child containers (Spring's concurrent container).

    Subscribed children share the group, so Kafka gives each partition to exactly one of them.
    Explicitly assigned partitions are dealt out round-robin among the children.

    Args:
        endpoint: What ``@kafka_listener`` declared.
        settings: How the consumers reach the cluster.
        subscription: The topics, pattern or partitions to consume.
        group_id: The consumer group the children share (``None``: explicit partitions only).
        client_id_prefix: Each child's client id is this plus its number.
        listener_id: The id in the registry (the endpoint's when omitted; retry topics' containers
            have their own).
        error_handler: For the endpoint when it has none of its own.
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
        client_id_prefix: str,
        listener_id: str | None = None,
        error_handler: ErrorHandler | None = None,
        not_before: Callable[[ConsumerRecord[bytes, bytes]], float | None] | None = None,
        dependencies: Mapping[type, Any] | None = None,
        prometheus: KafkaMetrics | None = None,
        tracing: Observation | None = None,
    ) -> None:
        self.endpoint = endpoint
        self._id = listener_id or endpoint.id
        self.subscription = subscription
        self.group_id = group_id
        self.children = [
            ListenerContainer(
                endpoint,
                settings,
                subscription=part,
                group_id=group_id,
                client_id=f"{client_id_prefix}-{index}",
                error_handler=error_handler,
                not_before=not_before,
                dependencies=dependencies,
                prometheus=prometheus,
                tracing=tracing,
            )
            for index, part in enumerate(self._split(subscription, endpoint.concurrency))
        ]

    def _children(self) -> list[ListenerContainer]:
        return self.children

    @staticmethod
    def _split(subscription: Subscription, concurrency: int) -> list[Subscription]:
        if not subscription.partitions:
            return [subscription] * concurrency
        count = min(concurrency, len(subscription.partitions))
        return [
            Subscription(partitions=subscription.partitions[index::count]) for index in range(count)
        ]

    @property
    def id(self) -> str:
        """The listener id (a retry topic's container: ``<id>-retry-<delay>``)."""
        return self._id

    def seek(self, request: SeekRequest) -> asyncio.Future[list[None]]:
        """Seek in every child (each on the partitions it owns); done when all applied it.

        Args:
            request: Where to: beginning, end, an offset or a timestamp, on some partitions or all.
        """
        return asyncio.gather(*(child.seek(request) for child in self.children))

    async def status(self) -> ListenerStatus:
        """The listener with each child's partitions, offsets and lag."""
        children = await asyncio.gather(*(child.status() for child in self.children))
        lags = [c.records_lag_max for c in children if c.records_lag_max is not None]
        return ListenerStatus(
            id=self.id,
            group_id=self.group_id,
            topics=list(self.subscription.topics)
            or sorted({p.topic for p in self.subscription.partitions}),
            pattern=self.subscription.pattern,
            state=self.state.value,
            concurrency=len(self.children),
            ack_mode=self.endpoint.ack_mode.value,
            records_lag_max=max(lags) if lags else None,
            containers=list(children),
        )
