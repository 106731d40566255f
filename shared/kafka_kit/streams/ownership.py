"""Which instance of a stream application owns a key (Kafka Streams' ``queryMetadataForKey``)."""

from __future__ import annotations

from dataclasses import dataclass

from kafka_kit.admin import KafkaAdmin
from kafka_kit.cluster_view import describe_groups
from kafka_kit.partitioners import key_partition
from kafka_kit.streams._engine import dumps
from kafka_kit.streams.application import MEMBER_SEPARATOR, StreamsApplication

__all__ = ["KeyOwner", "grouped_key", "key_owner"]


@dataclass(frozen=True)
class KeyOwner:
    """Where a key's state is: its partition, and the instance that processes it."""

    topic: str
    """The topic the key's state is partitioned by."""
    partition: int
    """The key's partition there."""
    url: str | None
    """The owner's ``application_server``; None while the partition is unassigned."""
    local: bool
    """Whether this instance is the owner (its own store answers)."""


def grouped_key(key: str) -> bytes:
    """A key as ``group_by`` writes it to its repartition topic (JSON, the engine's encoder).

    Args:
        key: The key ``group_by`` gave the record.
    """
    encoded: bytes = dumps(key)
    return encoded


async def key_owner(
    streams: StreamsApplication, topic: str, key: bytes, partitions: int
) -> KeyOwner:
    """The owner of the record key ``key`` (its bytes, as written) in ``topic``.

    The partition is the Java client's (murmur2), as the producer and the engine choose it.

    This instance knows its own partitions; for the others the group's members are asked of the
    broker, each naming its URL in its client id.

    Args:
        streams: This instance's application (it knows every member's assignment).
        topic: The topic whose partitions hold the state (a repartition topic, for ``group_by``).
        key: The record key as its bytes were written.
        partitions: How many partitions ``topic`` has.
    """
    partition = key_partition(key, range(partitions))
    if streams.owns(topic, partition):
        return KeyOwner(topic, partition, streams.settings.application_server, True)
    async with KafkaAdmin(streams.kafka).client() as client:
        groups = await describe_groups(client, [streams.application_id])
    for member in (member for group in groups for member in group.members):
        if (topic, partition) in member.assignment:
            _, _, url = member.client_id.partition(MEMBER_SEPARATOR)
            return KeyOwner(topic, partition, url or None, False)
    return KeyOwner(topic, partition, None, False)
