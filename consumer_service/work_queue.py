"""The consumer's work queue: the events topic read a second time, as a share group (KIP-932).

Beside the event log — a consumer group that stores every event in order, one consumer per
partition, replayable from any offset — this listener reads the same events as work items: every
member may take records from every partition, so more members than partitions all work; a
record is accepted when the handler returns and released (delivered again, maybe to another
member) when it raises, until ``max_deliveries``, then it goes to the dead-letter topic.
Registered with ``WORK_QUEUE_ENABLED=true`` (``./dev demo`` and the compose file set it).
"""

from __future__ import annotations

import logging
from collections import Counter, deque
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from event_contract.events import EventDto
from kafka_kit import ListenerRegistry, kafka_listener

log = logging.getLogger(__name__)

WORK_QUEUE_ID = "work_queue"
"""The listener's id in the registry (``/listeners/work_queue``)."""


class WorkQueueSettings(BaseSettings):
    """The share-group example listener (env ``WORK_QUEUE_*``), off unless enabled."""

    model_config = SettingsConfigDict(env_prefix="WORK_QUEUE_", extra="ignore")

    enabled: bool = Field(default=False, description="work through the events as a share group")
    share_group: str = Field(
        default="event-work", min_length=1, description="the work queue's share group"
    )
    concurrency: int = Field(
        default=4, gt=0, description="share-group members in this process (may exceed partitions)"
    )
    max_deliveries: int = Field(
        default=5, ge=1, le=9, description="deliveries of a failing record before its dead letter"
    )


class WorkDone:
    """What the work queue did in this process: items per event type, the latest ones."""

    def __init__(self, limit: int = 100) -> None:
        self.by_type: Counter[str] = Counter()
        self.latest: deque[dict[str, Any]] = deque(maxlen=limit)

    def view(self) -> dict[str, Any]:
        """Counts and the latest items, newest last."""
        return {
            "done": sum(self.by_type.values()),
            "by_type": dict(self.by_type),
            "latest": list(self.latest),
        }


def register_work_queue(
    registry: ListenerRegistry, settings: WorkQueueSettings, *, topic: str, done: WorkDone
) -> None:
    """Register the work queue on ``topic`` (nothing unless it is enabled)."""
    if not settings.enabled:
        return

    @kafka_listener(
        topic,
        share_group=settings.share_group,
        id=WORK_QUEUE_ID,
        concurrency=settings.concurrency,
        max_deliveries=settings.max_deliveries,
        registry=registry,
    )
    async def work_queue(event: EventDto, partition: int, offset: int, delivery_count: int) -> None:
        # The "work": here, counting; a real one sends the mail, resizes the image…
        done.by_type[event.type] += 1
        done.latest.append(
            {
                "id": str(event.id),
                "type": event.type,
                "partition": partition,
                "offset": offset,
                "delivery_count": delivery_count,
            }
        )
