"""The example listener: stores each event once, logs it, and remembers the latest ones.

Registered by the app from the settings it was given (``register_event_log``), not by importing
this module: one app, one registry, one source of configuration.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Any

from consumer_service.event_store import EventStore
from kafka_kit import ConsumerRecord, ListenerRegistry, kafka_listener
from producer_service.events import EventDto

log = logging.getLogger(__name__)

EVENT_LOG_ID = "event_log"
"""The listener's id in the registry (``/listeners/event_log``)."""


class RecentEvents:
    """The latest events the listener handled in this process, with where they were read from."""

    def __init__(self, limit: int = 100) -> None:
        self._events: deque[dict[str, Any]] = deque(maxlen=limit)

    def add(self, event: EventDto, record: ConsumerRecord[bytes, bytes]) -> None:
        """Remember ``event`` and its record's coordinates (the oldest is forgotten when full)."""
        self._events.append(
            {
                "event": event.model_dump(mode="json"),
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
            }
        )

    def latest(self, limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` events, newest last."""
        return list(self._events)[-limit:] if limit > 0 else []


async def event_log(
    event: EventDto,
    record: ConsumerRecord[bytes, bytes],
    store: EventStore,
    recent: RecentEvents,
) -> None:
    """Store each event (committed before the offset is), log it with where it was read from."""
    inserted = await store.save(
        event, topic=record.topic, partition=record.partition, offset=record.offset
    )
    if not inserted:
        log.info("event %s was stored before: a redelivery, ignored", event.id)
        return
    log.info(
        "event %s type=%s source=%s key=%s from %s-%d@%d",
        event.id,
        event.type,
        event.source,
        event.key,
        record.topic,
        record.partition,
        record.offset,
    )
    recent.add(event, record)


def register_event_log(registry: ListenerRegistry, *, topic: str, group_id: str) -> None:
    """Register :func:`event_log` on ``registry`` for ``topic`` in group ``group_id``."""
    kafka_listener(topic, group_id=group_id, id=EVENT_LOG_ID, registry=registry)(event_log)
