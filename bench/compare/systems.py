"""The same few operations on Kafka, RabbitMQ and Redis Streams, each in its own idiom.

A *stream* is a Kafka topic, a RabbitMQ fanout exchange (one queue per group bound to it), or a
Redis stream; a *group* is a consumer group, a queue, or a Redis consumer group. A reader reads
up to a batch, acknowledges what it handled (Kafka: commits it), and can *abandon* its batch,
going away without acknowledging, as a consumer that dies does.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any, Protocol

import aio_pika
import redis.asyncio as redis_client
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from kafka_kit._internal.cancellation import within

Item = dict[str, Any]
"""A message: ``key``, ``seq``, ``sent_at`` (epoch seconds) and padding."""


def encode(item: Item) -> bytes:
    """The message's bytes."""
    return json.dumps(item).encode()


class Reader(Protocol):
    """One consumer in a group."""

    async def read(self, most: int, timeout_s: float) -> list[Item]:
        """Up to ``most`` messages, waiting at most ``timeout_s`` for the first."""
        ...

    async def ack(self) -> None:
        """Acknowledge everything read so far."""
        ...

    async def close(self, *, abandon: bool = False) -> None:
        """Leave; with ``abandon``, without acknowledging what was read (a consumer dying)."""
        ...


class System(Protocol):
    """One messaging system under test."""

    name: str

    async def stream(self, name: str, partitions: int = 1) -> None:
        """Create ``name``."""
        ...

    async def reader(self, stream: str, group: str, consumer: str) -> Reader:
        """A consumer of ``group`` on ``stream`` (the group made when new)."""
        ...

    async def publish(self, stream: str, items: list[Item]) -> None:
        """Send ``items`` (keyed by ``key``), confirmed by the server."""
        ...

    async def close(self) -> None:
        """Release the connections."""
        ...


class KafkaReader:
    """A member of a consumer group: reads batches, commits what it read."""

    def __init__(self, consumer: AIOKafkaConsumer) -> None:
        self.consumer = consumer

    async def read(self, most: int, timeout_s: float) -> list[Item]:
        batches = await self.consumer.getmany(timeout_ms=int(timeout_s * 1000), max_records=most)
        return [json.loads(r.value or b"{}") for records in batches.values() for r in records]

    async def ack(self) -> None:
        await self.consumer.commit()

    async def close(self, *, abandon: bool = False) -> None:
        await self.consumer.stop()  # auto-commit is off: abandoning commits nothing


class Kafka:
    """Apache Kafka through aiokafka: keyed records, acks=all, one consumer group per group."""

    name = "Kafka"

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.producer: AIOKafkaProducer | None = None  # made in the loop that uses it

    async def stream(self, name: str, partitions: int = 1) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(name, partitions, 1)])
        finally:
            await admin.close()

    async def reader(self, stream: str, group: str, consumer: str) -> Reader:
        member = AIOKafkaConsumer(
            stream,
            bootstrap_servers=self.bootstrap,
            group_id=f"{stream}.{group}",  # a group of this stream's, as the others have
            client_id=consumer,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=6000,
            heartbeat_interval_ms=500,
        )
        await member.start()
        return KafkaReader(member)

    async def publish(self, stream: str, items: list[Item]) -> None:
        if self.producer is None:
            self.producer = AIOKafkaProducer(
                bootstrap_servers=self.bootstrap, acks="all", linger_ms=5
            )
            await self.producer.start()
        sent = [
            await self.producer.send(stream, encode(i), key=str(i["key"]).encode()) for i in items
        ]
        await asyncio.gather(*sent)

    def assigned(self, readers: list[Reader], stream: str, partitions: int) -> bool:
        """Whether ``readers`` (Kafka's) between them own every partition of ``stream``."""
        owned = set()
        for reader in readers:
            assert isinstance(reader, KafkaReader)
            owned |= reader.consumer.assignment()
        return owned == {TopicPartition(stream, p) for p in range(partitions)}

    async def close(self) -> None:
        if self.producer is not None:
            await self.producer.stop()


class RabbitReader:
    """A consumer of a queue, ``prefetch`` messages unacknowledged at most."""

    def __init__(self, channel: aio_pika.abc.AbstractChannel) -> None:
        self.channel = channel
        self.buffer: asyncio.Queue[aio_pika.abc.AbstractIncomingMessage] = asyncio.Queue()
        self.unacked: list[aio_pika.abc.AbstractIncomingMessage] = []

    async def read(self, most: int, timeout_s: float) -> list[Item]:
        taken: list[aio_pika.abc.AbstractIncomingMessage] = []
        try:
            taken.append(await within(self.buffer.get(), timeout_s))
            while len(taken) < most and not self.buffer.empty():
                taken.append(self.buffer.get_nowait())
        except TimeoutError:
            return []
        self.unacked += taken
        return [json.loads(m.body) for m in taken]

    async def ack(self) -> None:
        if self.unacked:
            await self.unacked[-1].ack(multiple=True)
            self.unacked.clear()

    async def close(self, *, abandon: bool = False) -> None:
        if not abandon:
            await self.ack()
        await self.channel.close()  # unacknowledged messages go back to the queue


class RabbitMQ:
    """RabbitMQ through aio-pika: a fanout exchange per stream, a durable queue per group."""

    name = "RabbitMQ"

    def __init__(self, url: str, prefetch: int = 10) -> None:
        self.url, self.prefetch = url, prefetch
        self.connection: aio_pika.abc.AbstractConnection | None = None
        self.publisher: aio_pika.abc.AbstractChannel | None = None

    async def _connected(self) -> aio_pika.abc.AbstractConnection:
        if self.connection is None:
            self.connection = await aio_pika.connect(self.url)
            self.publisher = await self.connection.channel(publisher_confirms=True)
        return self.connection

    async def stream(self, name: str, partitions: int = 1) -> None:
        await self._connected()
        assert self.publisher is not None
        await self.publisher.declare_exchange(name, aio_pika.ExchangeType.FANOUT)

    async def reader(self, stream: str, group: str, consumer: str) -> Reader:
        channel = await (await self._connected()).channel()
        await channel.set_qos(prefetch_count=self.prefetch)
        exchange = await channel.get_exchange(stream)
        queue = await channel.declare_queue(f"{stream}.{group}", durable=True)
        await queue.bind(exchange)
        reader = RabbitReader(channel)
        await queue.consume(reader.buffer.put)
        return reader

    async def publish(self, stream: str, items: list[Item]) -> None:
        await self._connected()
        assert self.publisher is not None
        exchange = await self.publisher.get_exchange(stream)
        for start in range(0, len(items), 200):  # confirmed, 200 in flight at a time
            await asyncio.gather(
                *(
                    exchange.publish(aio_pika.Message(encode(i)), routing_key=str(i["key"]))
                    for i in items[start : start + 200]
                )
            )

    async def close(self) -> None:
        if self.connection is not None:
            await self.connection.close()


class RedisReader:
    """A consumer of a Redis consumer group: XREADGROUP, then XACK."""

    def __init__(self, client: redis_client.Redis, stream: str, group: str, name: str) -> None:
        self.client, self.stream, self.group, self.name = client, stream, group, name
        self.unacked: list[bytes] = []

    async def read(self, most: int, timeout_s: float) -> list[Item]:
        answer: Any = await self.client.xreadgroup(
            self.group, self.name, {self.stream: ">"}, count=most, block=int(timeout_s * 1000)
        )
        entries = [entry for _, found in answer or [] for entry in found]
        self.unacked += [entry_id for entry_id, _ in entries]
        return [json.loads(fields[b"item"]) for _, fields in entries]

    async def ack(self) -> None:
        if self.unacked:
            await self.client.xack(self.stream, self.group, *self.unacked)
            self.unacked.clear()

    async def close(self, *, abandon: bool = False) -> None:
        if not abandon:
            await self.ack()  # abandoned: the entries stay pending with this consumer


class Redis:
    """Redis Streams through redis-py: XADD, consumer groups from the stream's start."""

    name = "Redis Streams"

    def __init__(self, url: str) -> None:
        self.client = redis_client.from_url(url, socket_timeout=60)  # reads block up to 10 s

    async def stream(self, name: str, partitions: int = 1) -> None:
        await self.client.delete(name)

    async def reader(self, stream: str, group: str, consumer: str) -> Reader:
        groups = await self.client.xinfo_groups(stream) if await self.client.exists(stream) else []
        if group.encode() not in {g["name"] for g in groups}:
            await self.client.xgroup_create(stream, group, id="0", mkstream=True)
        return RedisReader(self.client, stream, group, consumer)

    async def publish(self, stream: str, items: list[Item]) -> None:
        for start in range(0, len(items), 200):
            async with self.client.pipeline(transaction=False) as pipe:
                for item in items[start : start + 200]:
                    pipe.xadd(stream, {"item": encode(item)})
                await pipe.execute()

    async def pending(self, stream: str, group: str) -> int:
        """Entries delivered to some consumer of ``group`` and not acknowledged."""
        summary = await self.client.xpending(stream, group)
        return int(summary["pending"])

    async def close(self) -> None:
        await self.client.aclose()


def items(count: int, *, keys: int = 1, pad: int = 0) -> list[Item]:
    """``count`` messages over ``keys`` keys, each key's ``seq`` counting from 0."""
    now = time.time()
    return [
        {"key": f"k{n % keys}", "seq": n // keys, "sent_at": now, "pad": "x" * pad}
        for n in range(count)
    ]
