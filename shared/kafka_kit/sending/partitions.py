"""Which partition a record goes to: the template's partitioner, or the producer's own."""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaProducer

from kafka_kit.partitioners import DefaultPartitioner, Partitioner
from kafka_kit.records import ProducerRecord

__all__ = ["PartitionChooser"]


class PartitionChooser:
    """Places records the template partitions; caches each topic's partitions until the
    metadata changes.

    Args:
        partitioner: The custom partitioner, if any.
        default: Murmur2 for keys, sticky without.
        acks_zero: Producing with ``acks=0`` (no result names the partition: the template always
            picks it).
    """

    def __init__(
        self, partitioner: Partitioner | None, default: DefaultPartitioner, *, acks_zero: bool
    ) -> None:
        self.partitioner = partitioner
        self.default = default
        self._acks_zero = acks_zero
        # Per topic: (all partitions, available partitions), dropped on every metadata update.
        self._known: dict[str, tuple[list[int], list[int]]] = {}

    def forget(self, *_: object) -> None:
        """Drop the cached partitions (the metadata changed, or the producer did).

        Args:
            _: Whatever the metadata listener passes (ignored).
        """
        self._known.clear()

    def assigns(self, record: ProducerRecord) -> bool:
        """Whether the template picks the partition, or leaves it to the producer.

        A key without a custom partitioner maps as the producer would map it (murmur2 over all
        partitions): aiokafka does that itself, and the result reports the partition. Keyless
        records (sticky), custom partitioners and acks=0 (no result to report it) need ours.

        Args:
            record: The record to send.
        """
        return record.key is None or self.partitioner is not None or self._acks_zero

    async def placed(
        self, producer: AIOKafkaProducer, record: ProducerRecord, value: Any
    ) -> ProducerRecord:
        """``record`` with its partition, where the template chooses it; else as it is.

        Args:
            producer: Knows the topic's partitions.
            record: The record to send.
            value: Its unserialized value, for the partitioner.
        """
        if record.partition is not None or not self.assigns(record):
            return record
        known = self._known.get(record.topic)
        if known is None:
            partitions = sorted(await producer.partitions_for(record.topic))
            available = sorted(producer.client.cluster.available_partitions_for_topic(record.topic))
            known = self._known[record.topic] = (partitions, available)
        partitions, available = known
        chosen = None
        if self.partitioner is not None:
            chosen = self.partitioner(record, value, partitions, available)
            if chosen is not None and chosen not in partitions:
                raise ValueError(
                    f"the partitioner chose partition {chosen}, but {record.topic} has {partitions}"
                )
        if chosen is None:
            chosen = self.default(record, value, partitions, available)
        return record._replace(partition=chosen)
