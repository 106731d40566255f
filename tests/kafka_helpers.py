"""Helpers for tests against the real broker: create topics, read records back, wait."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment
from aiokafka.structs import ConsumerRecord, TopicPartition

from kafka_kit.recovery.error_handler import RECOVERED


async def create_topic(
    bootstrap: str, name: str, partitions: int = 1, replication: int = 1, **configs: str
) -> None:
    """Create ``name`` and wait until every partition has a leader."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(name, partitions, replication, topic_configs=configs or {})]
        )
        async with asyncio.timeout(30):
            while True:
                (described,) = await admin.describe_topics([name])
                parts = described["partitions"]
                if len(parts) == partitions and all(p["leader"] >= 0 for p in parts):
                    return
                await asyncio.sleep(0.1)
    finally:
        await admin.close()


async def read_to_end(
    bootstrap: str,
    topic: str,
    *,
    timeout_s: float = 30.0,
    isolation_level: str = "read_uncommitted",
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of ``topic`` up to the current end of each partition."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        isolation_level=isolation_level,
    )
    await consumer.start()
    got: list[ConsumerRecord[bytes, bytes]] = []
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        if not partitions:
            await consumer._client._wait_on_metadata(topic)
            partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        async with asyncio.timeout(timeout_s):
            while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
                batch = await consumer.getmany(timeout_ms=500)
                got += [record for records in batch.values() for record in records]
    finally:
        await consumer.stop()
    return got


async def produce(
    bootstrap: str,
    topic: str,
    values: list[bytes],
    *,
    key: bytes | None = None,
    partition: int | None = None,
    timestamps: list[int] | None = None,
) -> list[int]:
    """Write ``values`` in order with a plain producer; return their offsets."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    try:
        futures = [
            await producer.send(
                topic,
                value,
                key=key,
                partition=partition,
                timestamp_ms=timestamps[i] if timestamps else None,
            )
            for i, value in enumerate(values)
        ]
        return [(await future).offset for future in futures]
    finally:
        await producer.stop()


async def group_assignment(bootstrap: str, group_id: str) -> dict[str, set[tuple[str, int]]]:
    """The broker's view of a group: member client id + member id -> its partitions."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (response,) = await admin.describe_consumer_groups([group_id])
    finally:
        await admin.close()
    members: dict[str, set[tuple[str, int]]] = {}
    for group in response.groups:
        for member in group[5]:
            member_id, client_id, assignment = member[0], member[1], member[4]
            parts = (
                ConsumerProtocolMemberAssignment.decode(assignment).assignment if assignment else []
            )
            members[f"{client_id}/{member_id}"] = {
                (topic, partition) for topic, partitions in parts for partition in partitions
            }
    return members


class CrashingOnce:
    """An error handler that raises the first time it is asked: the poll loop dies (what
    supervision is for); afterwards it lets the record go."""

    def __init__(self) -> None:
        self.crashed = False

    async def handle(self, exc: Exception, records: Any, attempt: int, context: Any) -> Any:

        if not self.crashed:
            self.crashed = True
            raise RuntimeError("the error handler itself failed")
        return RECOVERED
