"""The event every service in the pair speaks: ``EventDto``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


def _now() -> datetime:
    return datetime.now(UTC)


class EventDto(BaseModel):
    """A domain event as posted over HTTP and carried as a Kafka record's JSON value."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "type": "order.created",
                    "source": "checkout",
                    "key": "customer-42",
                    "payload": {"order_id": 1001, "total": "59.90"},
                }
            ]
        },
    )

    id: UUID = Field(default_factory=uuid4, description="Unique event id; generated if absent.")
    type: str = Field(min_length=1, max_length=256, description="What happened, e.g. order.created")
    source: str = Field(min_length=1, max_length=256, description="Who says it happened.")
    key: str | None = Field(
        default=None,
        max_length=1024,
        description="Record key: events with the same key go to the same partition, in order.",
    )
    payload: dict[str, Any] = Field(default_factory=dict, description="The event's data.")
    occurred_at: AwareDatetime = Field(
        default_factory=_now, description="When it happened, with a time zone; defaults to now."
    )
