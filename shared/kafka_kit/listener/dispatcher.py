"""What every way of dispatching a poll's records needs from its container."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import ConsumerRecord, TopicPartition
from prometheus_client import CollectorRegistry

from kafka_kit.ack import Acknowledgment
from kafka_kit.listener.commits import OffsetCommitter
from kafka_kit.listener.endpoint import ListenerEndpoint
from kafka_kit.listener.failures import FailureRouter, first_offsets
from kafka_kit.listener.observer import Observers
from kafka_kit.listener.tracker import PartitionTracker
from kafka_kit.settings import KafkaSettings
from kafka_kit.status import ContainerMetrics

__all__ = ["Batch", "Dispatcher", "first_offsets"]

Record = ConsumerRecord[bytes, bytes]
Batch = Mapping[TopicPartition, list[Record]]


@dataclass
class Dispatcher:
    """What every way of dispatching needs from its container."""

    endpoint: ListenerEndpoint
    """The listener's declaration."""
    tracker: PartitionTracker
    """Pending offsets, attempts and back-offs per partition."""
    router: FailureRouter
    """Takes failures to the error handler."""
    observers: Observers
    """Hear every outcome."""
    metrics: ContainerMetrics
    """The container's counters."""
    committer: OffsetCommitter
    """Commits when the ack mode says."""
    dependencies: dict[type, Any]
    """What handlers receive by type."""
    not_before: Callable[[Record], float | None] | None = None
    """Epoch seconds before which a record must not be handled (retry topics), or None."""
    metrics_registry: CollectorRegistry | None = None
    """Where a transactional template's send metrics go."""

    async def dispatch(self, consumer: AIOKafkaConsumer, batch: Batch) -> None:
        """Hand ``batch`` (one poll's records) to the handler.

        Args:
            consumer: The container's consumer.
            batch: One poll's records, by partition.
        """
        raise NotImplementedError

    async def open(self, settings: KafkaSettings, client_id: str, group_id: str | None) -> None:
        """Before a consumer starts: acquire what dispatching needs (nothing, by default).

        Args:
            settings: How to reach the cluster.
            client_id: The consumer's client id.
            group_id: Its group.
        """

    async def close(self) -> None:
        """The container stops: release it."""

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
