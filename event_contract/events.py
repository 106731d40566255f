"""The events' contract: the ``EventDto`` the producer accepts and the topic it writes it to.

Both services import it from here, neither from the other: the schema is shared, not owned by
the service that happens to publish it.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidatorFunctionWrapHandler,
    field_validator,
)
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict

from kafka_kit import NewTopic
from kafka_kit.recovery import dead_letter_topic
from kafka_kit.topic_names import TOPIC_NAME_PATTERN

__all__ = [
    "OCCURRED_AT_MAX_MS",
    "OCCURRED_AT_MIN_MS",
    "OCCURRED_AT_PATTERN",
    "OCCURRED_AT_RANGE",
    "EventDto",
    "EventsTopicSettings",
]


def _now() -> datetime:
    return datetime.now(UTC)


OCCURRED_AT_MIN_MS = 0
"""1970-01-01T00:00:00Z: Kafka record timestamps are milliseconds since the epoch, never less."""
OCCURRED_AT_MAX_MS = 253_402_300_799_999
"""9999-12-31T23:59:59.999Z: the last instant an ISO 8601 date (and Python) can write."""
OCCURRED_AT_RANGE = "1970-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z"

_DAY = "(?:0[1-9]|[12][0-9]|3[01])"
_MONTH = "(?:0[1-9]|1[0-2])"
_TIME = "[Tt ](?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\\.[0-9]+)?)?"
_HOURS = "(?:[01][0-9]|2[0-3]):?[0-5][0-9]"
_INNER_YEARS = "(?:197[1-9]|19[89][0-9]|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])"
OCCURRED_AT_PATTERN = (
    "^(?:"
    # Years 1971-9998, and the first and last year but their edge days: any offset.
    f"(?:{_INNER_YEARS}-{_MONTH}-{_DAY}"
    f"|1970-(?:01-(?:0[2-9]|[12][0-9]|3[01])|(?:0[2-9]|1[0-2])-{_DAY})"
    f"|9999-(?:(?:0[1-9]|1[01])-{_DAY}|12-(?:0[1-9]|[12][0-9]|30)))"
    f"{_TIME}(?:[Zz]|[+-]{_HOURS})"
    # The edge days: only offsets that keep the instant inside the range.
    f"|1970-01-01{_TIME}(?:[Zz]|-{_HOURS}|\\+00:?00)"
    f"|9999-12-31{_TIME}(?:[Zz]|\\+{_HOURS}|-00:?00)"
    ")$"
)
"""``occurred_at`` as the API states it (a JSON Schema ``pattern`` beside ``format: date-time``):
what :data:`OCCURRED_AT_RANGE` allows, written so that a client can check it. On 1970-01-01 and
9999-12-31 the offset may only point into the range (``Z`` does)."""
_OCCURRED_AT = re.compile(OCCURRED_AT_PATTERN)


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
        default_factory=_now,
        description="When it happened, with a time zone; defaults to now. From "
        f"{OCCURRED_AT_RANGE}: what a Kafka record timestamp holds.",
        json_schema_extra={"pattern": OCCURRED_AT_PATTERN},
    )

    @field_validator("occurred_at", mode="wrap")
    @classmethod
    def _kafka_can_hold_it(cls, value: object, parse: ValidatorFunctionWrapHandler) -> datetime:
        # Parsed first, so that a malformed or naive value keeps pydantic's own error.
        parsed: datetime = parse(value)
        written_outside = isinstance(value, str) and not _OCCURRED_AT.match(value)
        if written_outside or not OCCURRED_AT_MIN_MS <= _epoch_ms(parsed) <= OCCURRED_AT_MAX_MS:
            raise PydanticCustomError(
                "occurred_at_range",
                "occurred_at must be from {range}: a Kafka record timestamp is milliseconds "
                "since 1970, and a date has four digits (on the first and last day, give the "
                "time in UTC)",
                {"range": OCCURRED_AT_RANGE},
            )
        return parsed

    def occurred_at_ms(self) -> int:
        """``occurred_at`` as a Kafka record timestamp: milliseconds since the epoch."""
        return _epoch_ms(self.occurred_at)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _epoch_ms(value: datetime) -> int:
    # A difference, exact to the microsecond: converting year 9999 at -05:00 to UTC overflows.
    return (value - _EPOCH) // timedelta(milliseconds=1)


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
