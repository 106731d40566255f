"""The consumer service's own settings: its event store, its listener, its retries."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class EventStoreSettings(BaseSettings):
    """Where the consumer service stores events (env ``EVENT_STORE_*``).

    ``sqlite:///path/events.db`` (the default, a file, no server) or ``postgresql://…`` (a DSN).
    """

    model_config = SettingsConfigDict(env_prefix="EVENT_STORE_", extra="ignore")

    url: str = "sqlite:///events.db"


class EventLogSettings(BaseSettings):
    """The example listener that stores every event (env ``EVENT_LOG_*``)."""

    model_config = SettingsConfigDict(env_prefix="EVENT_LOG_", extra="ignore")

    group_id: str = Field(default="event-log", min_length=1)


class ListenerRetrySettings(BaseSettings):
    """Blocking retries before a record is dead-lettered (env ``KAFKA_LISTENER_RETRY_*``)."""

    model_config = SettingsConfigDict(env_prefix="KAFKA_LISTENER_RETRY_", extra="ignore")

    attempts: int = Field(default=3, ge=1, description="Deliveries in all, the first included.")
    initial_s: float = Field(default=1.0, ge=0)
    multiplier: float = Field(default=2.0, ge=1)
    max_s: float = Field(default=30.0, ge=0)
