"""Publish a consumed record elsewhere (retry topic, dead-letter topic, back to its origin)."""

from __future__ import annotations

from collections.abc import Iterable

from aiokafka.structs import ConsumerRecord

from kafka_kit.template import KafkaTemplate, ProducerRecord, SendResult


async def forward(
    template: KafkaTemplate,
    record: ConsumerRecord[bytes, bytes],
    topic: str,
    *,
    partition: int | None,
    headers: Iterable[tuple[str, bytes]],
) -> SendResult:
    """Send ``record``'s key and value to ``topic``, on ``partition`` when the topic has it.

    Keeping the partition keeps a key's records together; when the target has fewer partitions,
    the template's partitioner decides. Waits for the acknowledgement (raises on failure).
    """
    partitions = await template.partitions_for(topic)
    return await template.send_record(
        ProducerRecord(
            topic=topic,
            value=record.value,
            key=record.key,
            partition=partition if partition in partitions else None,
            headers=tuple(headers),
        )
    )
