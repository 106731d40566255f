"""The producer's contract: the ``EventDto`` it accepts and the topic it writes it to.

The consumer service reads the same events, so it imports this module: the service that publishes
an event owns its schema.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from kafka_kit import NewTopic, dead_letter_topic
from kafka_kit.topic_names import TOPIC_NAME_PATTERN


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


class EventsTopicSettings(BaseSettings):
    """The topic the demo's events go to (env ``EVENTS_*``)."""

    model_config = SettingsConfigDict(env_prefix="EVENTS_", extra="ignore")

    topic: str = Field(
        default="events",
        description="the events topic (and `<topic>-dlt`)",
        pattern=TOPIC_NAME_PATTERN,
        max_length=245,  # room for "-dlt"
    )
    partitions: int = Field(default=6, gt=0, description="its partitions, ensured at start-up")
    replication_factor: int = Field(
        default=1, gt=0, description="its replicas (the demo and compose use 3)"
    )
    min_insync_replicas: int | None = Field(
        default=None,
        gt=0,
        description="with acks=all, replicas that must have each write (the demo: 2; none: the "
        "broker's)",
    )

    def declarations(self) -> list[NewTopic]:
        """The events topic and its dead-letter topic, as declared at service start-up."""
        topic = NewTopic(self.topic, self.partitions, self.replication_factor)
        if self.min_insync_replicas is not None:
            topic = topic.min_insync_replicas(self.min_insync_replicas)
        return [topic, replace(topic, name=dead_letter_topic(self.topic))]
