"""The consumer service's own settings: its event store, its listener, its retries."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from kafka_kit.streams.settings import ApplicationId, StreamsSettings


class EventStoreSettings(BaseSettings):
    """Where the consumer service stores events (env ``EVENT_STORE_*``).

    ``sqlite:///path/events.db`` (the default, a file, no server) or ``postgresql://…`` (a DSN).
    """

    model_config = SettingsConfigDict(env_prefix="EVENT_STORE_", extra="ignore")

    url: str = Field(
        default="sqlite:///events.db",
        description="where the consumer stores events: `sqlite:///path` or `postgresql://…`",
    )
    retention_s: float | None = Field(
        default=None,
        gt=0,
        description="stored events older than this are deleted, checked every minute (none: "
        "kept for good, the store grows with the traffic); a redelivery after that is stored again",
    )


class EventLogSettings(BaseSettings):
    """The example listener that stores every event (env ``EVENT_LOG_*``)."""

    model_config = SettingsConfigDict(env_prefix="EVENT_LOG_", extra="ignore")

    group_id: str = Field(
        default="event-log", min_length=1, description="the example listener's consumer group"
    )
    concurrency: int = Field(
        default=2,
        gt=0,
        description="consumers of the example listener in this process: while one waits for "
        "the store's commit, another parses the next poll",
    )


class ListenerRetrySettings(BaseSettings):
    """Blocking retries before a record is dead-lettered (env ``KAFKA_LISTENER_RETRY_*``)."""

    model_config = SettingsConfigDict(env_prefix="KAFKA_LISTENER_RETRY_", extra="ignore")

    attempts: int = Field(
        default=3,
        ge=1,
        description="deliveries of a failing record, the first included, before it is "
        "dead-lettered",
    )
    initial_s: float = Field(default=1.0, ge=0, description="the first back-off")
    multiplier: float = Field(default=2.0, ge=1, description="each back-off is this times longer")
    max_s: float = Field(default=30.0, ge=0, description="the longest back-off")


class EventStatsStreamsSettings(StreamsSettings):
    """The event-stats topology's stream application (env ``KAFKA_STREAMS_*``), with this
    service's id as the default the library does not have."""

    application_id: ApplicationId = "event-stats"
