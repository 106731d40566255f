"""The example listener: stores each event once, a poll at a time, and remembers the latest ones.

Registered by the app from the settings it was given (``register_event_log``), not by importing
this module: one app, one registry, one source of configuration.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable
from typing import Annotated, Any

from consumer_service.event_rows import PlacedEvent
from consumer_service.event_store import EventStore
from event_contract.events import EventDto
from kafka_kit import ConsumerRecord, ListenerRegistry, kafka_listener
from kafka_kit.listener import Inject
from kafka_kit.tracing import record_spans, trace_id_of

log = logging.getLogger(__name__)

EVENT_LOG_ID = "event_log"
"""The listener's id in the registry (``/listeners/event_log``)."""


class RecentEvents:
    """The latest events the listener handled in this process, with where they were read from."""

    def __init__(self, limit: int = 100) -> None:
        # Kept as given and turned into JSON when asked for: a busy listener adds thousands a
        # second, and only the last ``limit`` are ever shown.
        self._events: deque[PlacedEvent] = deque(maxlen=limit)

    def extend(self, events: Iterable[PlacedEvent]) -> None:
        """Remember several, in order."""
        self._events.extend(events)

    def latest(self, limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` events, newest last."""
        chosen = list(self._events)[-limit:] if limit > 0 else []
        return [
            {
                "event": placed.event.model_dump(mode="json"),
                "topic": placed.topic,
                "partition": placed.partition,
                "offset": placed.offset,
                "trace_id": placed.trace_id,
            }
            for placed in chosen
        ]


async def event_log(
    events: list[EventDto],
    records: list[ConsumerRecord[bytes, bytes]],
    store: Annotated[EventStore, Inject],
    recent: Annotated[RecentEvents, Inject],
) -> None:
    """Store a poll's events in one transaction (committed before the offsets are).

    A batch listener: an unreadable record is dead-lettered alone, the ones before it are stored
    first and the ones after it come again. Single events are logged at DEBUG; the container
    logs a summary at INFO (``KAFKA_CONSUMER_PROGRESS_LOG_S``).
    """
    placed = [
        PlacedEvent(
            event, record.topic, record.partition, record.offset, trace_id_of(record.headers)
        )
        for event, record in zip(events, records, strict=True)
    ]
    # With tracing on, a span per event in that event's trace: POST → send → process → store.
    with record_spans("store events", records):
        stored = await store.save_many(placed)
    new = [p for p in placed if str(p.event.id) in stored]
    if len(new) < len(placed):
        log.info("%d events were stored before: redeliveries, ignored", len(placed) - len(new))
    if log.isEnabledFor(logging.DEBUG):
        for event, topic, partition, offset, _ in new:
            log.debug(
                "event %s type=%s source=%s key=%s from %s-%d@%d",
                event.id,
                event.type,
                event.source,
                event.key,
                topic,
                partition,
                offset,
            )
    recent.extend(new)


def register_event_log(
    registry: ListenerRegistry, *, topic: str, group_id: str, concurrency: int = 1
) -> None:
    """Register :func:`event_log` on ``registry`` for ``topic`` in group ``group_id``."""
    kafka_listener(
        topic,
        group_id=group_id,
        id=EVENT_LOG_ID,
        batch=True,
        concurrency=concurrency,
        registry=registry,
    )(event_log)
