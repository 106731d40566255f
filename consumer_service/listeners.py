"""The example listener: logs every event and keeps the latest for ``/events/recent``."""

from __future__ import annotations

import logging
from collections import deque
from typing import Any

from aiokafka.structs import ConsumerRecord

from shared.events import EventDto
from shared.listener import kafka_listener

log = logging.getLogger(__name__)

RECENT_LIMIT = 100
recent_events: deque[dict[str, Any]] = deque(maxlen=RECENT_LIMIT)
"""The latest events with where they were read from, newest last."""


@kafka_listener("${EVENTS_TOPIC:events}", group_id="${EVENT_LOG_GROUP_ID:event-log}")
async def event_log(event: EventDto, record: ConsumerRecord[bytes, bytes]) -> None:
    """Log each event with the partition and offset it was read from."""
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
