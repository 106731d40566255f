"""The example listener: stores each event once, logs it, and remembers the latest ones."""

from __future__ import annotations

import logging
from collections import deque
from typing import Any

from aiokafka.structs import ConsumerRecord

from shared.event_store import EventStore
from shared.events import EventDto
from shared.listener import kafka_listener

log = logging.getLogger(__name__)

RECENT_LIMIT = 100
recent_events: deque[dict[str, Any]] = deque(maxlen=RECENT_LIMIT)
"""The latest events with where they were read from, newest last."""


@kafka_listener("${EVENTS_TOPIC:events}", group_id="${EVENT_LOG_GROUP_ID:event-log}")
async def event_log(
    event: EventDto, record: ConsumerRecord[bytes, bytes], store: EventStore
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
    recent_events.append(
        {
            "event": event.model_dump(mode="json"),
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
        }
    )
