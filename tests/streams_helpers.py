"""Inputs and recounts for the stream-processing tests."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer, ConsumerRecord

from event_contract.events import EventDto


def event(key: str | None, event_type: str, occurred_at: float, **fields: Any) -> EventDto:
    """An event of ``event_type`` for ``key`` that happened at ``occurred_at`` (epoch s)."""
    return EventDto(
        id=fields.pop("id", uuid.uuid4()),
        type=event_type,
        source="test",
        key=key,
        occurred_at=datetime.fromtimestamp(occurred_at, UTC),
        **fields,
    )


def recount(records: list[ConsumerRecord[bytes, bytes]]) -> tuple[Counter[str], set[str]]:
    """Distinct events per key, and the distinct ids, from the input topic's records."""
    seen: set[str] = set()
    per_key: Counter[str] = Counter()
    for record in records:
        try:
            value = json.loads(record.value)
        except ValueError:
            continue
        if value["id"] in seen:
            continue
        seen.add(value["id"])
        if value.get("key") is not None:
            per_key[value["key"]] += 1
    return per_key, seen


async def produce_events(bootstrap: str, topic: str, events: list[EventDto]) -> None:
    """Write ``events`` in order, keyed by their keys (murmur2, as the producer service does)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, enable_idempotence=True)
    await producer.start()
    try:
        futures = [
            await producer.send(
                topic,
                e.model_dump_json().encode(),
                key=e.key.encode() if e.key is not None else None,
            )
            for e in events
        ]
        for future in futures:
            await future
    finally:
        await producer.stop()
