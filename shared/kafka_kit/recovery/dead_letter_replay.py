"""Read a dead-letter topic and republish its records to where they came from, once each.

Which dead letters were replayed is kept in Kafka itself: a compacted ``<dlt>-replays`` topic keyed
by ``<partition>:<offset>``. A second replay of the same dead letter is refused.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aiokafka.errors import UnknownTopicOrPartitionError
from aiokafka.structs import ConsumerRecord, TopicPartition

from kafka_kit import headers as h
from kafka_kit._internal.clients import batches_until_end, reading
from kafka_kit.admin import KafkaAdmin, NewTopic
from kafka_kit.errors import (
    AlreadyReplayedError,
    DeadLetterNotFoundError,
    DeadLetterTopicNotFoundError,
)
from kafka_kit.recovery._forwarding import forward
from kafka_kit.settings import KafkaSettings
from kafka_kit.template import KafkaTemplate

__all__ = ["DeadLetter", "DeadLetterReplayer"]


Record = ConsumerRecord[bytes, bytes]
REPLAYS_SUFFIX = "-replays"


@dataclass(frozen=True)
class DeadLetter:
    """One record of a dead-letter topic, with why it is there."""

    partition: int
    """Its partition in the dead-letter topic."""
    offset: int
    """Its offset in the dead-letter topic."""
    timestamp: int
    """When it was dead-lettered (epoch ms)."""
    key: bytes | None
    """The original record's key."""
    value: bytes | None
    """The original record's value."""
    headers: tuple[tuple[str, bytes], ...]
    """The original headers, then why and where from (Spring's ``kafka_dlt-*``)."""
    replayed: bool
    """Whether it was replayed already (kept in the compacted ``<dlt>-replays`` topic)."""

    def header(self, name: str) -> str | None:
        """A header as text.

        Args:
            name: The header (the last of that name counts).
        """
        return h.header(self.headers, name)

    def number(self, name: str) -> int | None:
        """A numeric header, binary as Spring writes it or decimal text as we wrote before 0.6.

        Args:
            name: The header (``kafka_dlt-original-offset``…).
        """
        return h.decode_int(h.last(self.headers, name))

    def as_json(self) -> dict[str, Any]:
        """A JSON view: text where the bytes are UTF-8, base64 otherwise."""
        return {
            "partition": self.partition,
            "offset": self.offset,
            "timestamp": self.timestamp,
            "key": _text(self.key),
            "value": _text(self.value),
            "exception": {
                "class": self.header(h.DLT_EXCEPTION_FQCN),
                "cause_class": self.header(h.DLT_EXCEPTION_CAUSE_FQCN),
                "message": self.header(h.DLT_EXCEPTION_MESSAGE),
                "stacktrace": self.header(h.DLT_EXCEPTION_STACKTRACE),
            },
            "original": {
                "topic": self.header(h.DLT_ORIGINAL_TOPIC),
                "partition": self.number(h.DLT_ORIGINAL_PARTITION),
                "offset": self.number(h.DLT_ORIGINAL_OFFSET),
                "timestamp": self.number(h.DLT_ORIGINAL_TIMESTAMP),
                "timestamp_type": self.header(h.DLT_ORIGINAL_TIMESTAMP_TYPE),
                "consumer_group": self.header(h.DLT_ORIGINAL_CONSUMER_GROUP),
            },
            "headers": {name: _text(value) for name, value in self.headers},
            "replayed": self.replayed,
        }


def _text(data: bytes | None) -> dict[str, str] | None:
    if data is None:
        return None
    try:
        return {"text": data.decode()}
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(data).decode()}


class DeadLetterReplayer:
    """Lists a dead-letter topic and replays selected records to their original topic.

    Args:
        settings: How to reach the cluster (to read the topics).
        template: Republishes the replayed records.
    """

    def __init__(self, settings: KafkaSettings, template: KafkaTemplate) -> None:
        self.settings = settings
        self.template = template
        self._locks: dict[str, asyncio.Lock] = {}

    async def list_dead_letters(self, dlt: str, *, limit: int = 100) -> list[DeadLetter]:
        """Up to ``limit`` dead letters, oldest first, each marked when already replayed.

        Args:
            dlt: The dead-letter topic.
            limit: At most this many.
        """
        records = await self._read_all(dlt, limit=limit)
        replayed = await self._replayed(dlt)
        return [self._letter(r, replayed) for r in records]

    async def replay(
        self, dlt: str, selection: Iterable[tuple[int, int]] | None = None
    ) -> tuple[list[dict[str, Any]], list[tuple[int, int]]]:
        """Republish the selected dead letters (all not yet replayed when ``None``).

        Returns what was sent (dead letter → new coordinates) and, for ``None``, what was skipped
        as replayed before. An explicit selection with a replayed or unknown record sends nothing.

        Args:
            dlt: The dead-letter topic.
            selection: ``(partition, offset)`` of each dead letter to replay; ``None``: every one
                not replayed yet.
        """
        async with self._locks.setdefault(dlt, asyncio.Lock()):
            records = {(r.partition, r.offset): r for r in await self._read_all(dlt)}
            replayed = await self._replayed(dlt, create=True)
            if selection is None:
                wanted = [k for k in sorted(records) if k not in replayed]
                skipped = sorted(k for k in records if k in replayed)
            else:
                wanted = list(dict.fromkeys(selection))
                missing = [k for k in wanted if k not in records]
                if missing:
                    raise DeadLetterNotFoundError(missing)
                again = [k for k in wanted if k in replayed]
                if again:
                    raise AlreadyReplayedError(again)
                skipped = []
            sent = [await self._replay_one(dlt, records[k]) for k in wanted]
        return sent, skipped

    async def _replay_one(self, dlt: str, record: Record) -> dict[str, Any]:
        tracing = self.template.tracing
        if tracing is None:
            return await self._republish(dlt, record)
        # The replay and its marker go on in the dead letter's trace.
        with tracing.continued(record.headers, f"replay {dlt}"):
            return await self._republish(dlt, record)

    async def _republish(self, dlt: str, record: Record) -> dict[str, Any]:
        original = h.header(record.headers, h.DLT_ORIGINAL_TOPIC)
        if original is None:
            raise ValueError(f"{dlt}-{record.partition}@{record.offset} has no original topic")
        # Back to the partition it came from (when the topic still has it): Spring's binary
        # header or our old decimal text.
        partition = h.decode_int(h.last(record.headers, h.DLT_ORIGINAL_PARTITION))
        source = f"{dlt}/{record.partition}/{record.offset}"
        result = await forward(
            self.template,
            record,
            original,
            partition=partition,
            headers=(
                *h.without(record.headers, h.DLT_PREFIX, h.RETRY_PREFIX, h.LEGACY_RETRY_PREFIX),
                (h.DLT_REPLAYED_FROM, source.encode()),
            ),
        )
        marker = {
            "replayed_at": int(time.time() * 1000),
            "topic": result.topic,
            "partition": result.partition,
            "offset": result.offset,
        }
        # Only after the replay was acknowledged: a crash in between replays it again, not never.
        await self.template.send(
            self._replays_topic(dlt), marker, key=f"{record.partition}:{record.offset}"
        )
        return {"dead_letter": {"partition": record.partition, "offset": record.offset}, **marker}

    def _replays_topic(self, dlt: str) -> str:
        return f"{dlt}{REPLAYS_SUFFIX}"

    async def _replayed(self, dlt: str, *, create: bool = False) -> set[tuple[int, int]]:
        """Dead letters replayed before; the marker topic is created only to write to it."""
        topic = self._replays_topic(dlt)
        admin = KafkaAdmin(self.settings)
        if create:
            created = await admin.ensure_topics([NewTopic(topic, 1, None).compacted()])
            if created:
                return set()  # a new topic: nothing was replayed yet
        elif not await admin.exists(topic):
            return set()
        done = set()
        for record in await self._read_all(topic):
            if record.key is not None:
                partition, _, offset = record.key.decode().partition(":")
                done.add((int(partition), int(offset)))
        return done

    def _letter(self, record: Record, replayed: set[tuple[int, int]]) -> DeadLetter:
        return DeadLetter(
            partition=record.partition,
            offset=record.offset,
            timestamp=record.timestamp,
            key=record.key,
            value=record.value,
            headers=tuple(record.headers),
            replayed=(record.partition, record.offset) in replayed,
        )

    async def _read_all(self, topic: str, *, limit: int | None = None) -> list[Record]:
        """Every record of ``topic`` up to its current end (no consumer group, no commits)."""
        try:
            count, _ = await KafkaAdmin(self.settings).topic_layout(topic)
        except UnknownTopicOrPartitionError as exc:
            raise DeadLetterTopicNotFoundError(topic) from exc
        records: list[Record] = []
        client_id = f"{self.settings.client_id}-dlt-reader"
        async with reading(self.settings, client_id, f"reading {topic}") as consumer:
            tps = [TopicPartition(topic, p) for p in range(count)]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            timeout_s = self.settings.request_timeout_ms / 1000
            async for batch in batches_until_end(consumer, tps, timeout_s):
                records += batch
                if limit is not None and len(records) >= limit:
                    break
        records.sort(key=lambda r: (r.timestamp, r.partition, r.offset))
        return records[:limit] if limit is not None else records
