"""Settings of a stream-processing application (env ``KAFKA_STREAMS_*``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from platformdirs import user_data_path
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from kafka_kit.streams.failures import FailurePolicy, TimestampPolicy
from kafka_kit.topic_names import TOPIC_NAME_PATTERN

__all__ = ["ApplicationId", "StreamsSettings", "default_state_dir"]

ApplicationId = Annotated[
    str,
    Field(
        pattern=TOPIC_NAME_PATTERN,
        max_length=120,  # room for "changelog__<id>--<topic>--<store>"
        description="the consumer group and the prefix of the changelog and repartition topics",
    ),
]
"""A stream application's id; an application's own settings give it a default
(``application_id: ApplicationId = "event-stats"``)."""


class StreamsSettings(BaseSettings):
    """One stream-processing application: its id, guarantee, and how it shares work.

    Named as in Kafka Streams where a setting means the same: ``application_id`` is the consumer
    group and the prefix of every internal topic; ``application_server`` is this instance's URL
    that the other instances learn (``application.server``).
    """

    model_config = SettingsConfigDict(env_prefix="KAFKA_STREAMS_", extra="ignore")

    # No default, as in Kafka Streams (application.id is required): a library default would be
    # one application's name, shared by accident by every other.
    application_id: ApplicationId
    processing_guarantee: Literal["exactly-once", "at-least-once"] = Field(
        default="exactly-once",
        description="`exactly-once`: state changes, output and offsets commit in one transaction",
    )
    commit_interval_s: float = Field(
        default=1.0, gt=0, description="how often progress commits (a checkpoint, a transaction)"
    )
    commit_every: int = Field(
        default=5000,
        ge=0,
        description="progress also commits after this many records: a checkpoint's state changes "
        "wait in memory until it commits, and a backlog would otherwise pile up a second's worth "
        "(0: by time only)",
    )
    session_timeout_s: float = Field(
        default=10.0,
        gt=0,
        description="a crashed instance's partitions move to the others after this long",
    )
    application_server: str = Field(
        default="http://localhost:8001",
        description="this instance's URL, given to the others to route queries for its keys",
    )
    state_dir: str | None = Field(
        default=None,
        description="where the state stores (RocksDB) live; lost or not, changelogs restore them "
        "(none: the user's data folder, `~/.local/share/kafka-kit/streams` on Linux — never the "
        "working directory)",
    )

    on_deserialization_error: FailurePolicy = Field(
        default=FailurePolicy.DEAD_LETTER,
        description="a record that cannot be deserialized: `dead-letter`, `skip` or `fail` "
        "(Kafka Streams' deserialization.exception.handler)",
    )
    on_processing_error: FailurePolicy = Field(
        default=FailurePolicy.DEAD_LETTER,
        description="a record the topology raises on: `dead-letter`, `skip` or `fail` "
        "(processing.exception.handler, KIP-1033)",
    )
    on_production_error: FailurePolicy = Field(
        default=FailurePolicy.DEAD_LETTER,
        description="a record whose output the broker refuses (too large, refused): "
        "`dead-letter`, `skip` or `fail` (production.exception.handler, KIP-210)",
    )
    on_invalid_timestamp: TimestampPolicy = Field(
        default=TimestampPolicy.CLAMP,
        description="an output timestamp the topic's broker would refuse "
        "(message.timestamp.after/before.max.ms): `clamp` to now, `dead-letter`, or `fail`",
    )
    dead_letter_topic: str | None = Field(
        default=None,
        pattern=TOPIC_NAME_PATTERN,
        description="where failed records go, with Spring's kafka_dlt-* headers (none: "
        "`<application id>-dlt`, made like the first input topic)",
    )
    poison_after_failures: int = Field(
        default=3,
        ge=1,
        description="a record that stops the application this many times in a row is handled "
        "by the processing policy instead",
    )
    broker_timeout_s: float = Field(
        default=60.0,
        gt=0,
        description="no broker answering for this long fails the application, which then "
        "restarts with back-off",
    )
    restart_backoff_s: float = Field(
        default=1.0, gt=0, description="the first restart's delay; doubled each time"
    )
    restart_backoff_max_s: float = Field(
        default=30.0, gt=0, description="the longest delay between restarts"
    )

    store_memory_mb: float = Field(
        default=32.0,
        gt=0,
        description="what every state store of the process may hold in memory together: RocksDB's "
        "read cache, with the write buffers charged to it (the engine's defaults, 64 MB write "
        "buffers per store partition and column family, grew the consumer service past 400 MB)",
    )
    fetch_buffer_mb: float = Field(
        default=8.0,
        gt=0,
        description="how much the consumer fetches ahead of processing (librdkafka's "
        "queued.max.messages.kbytes; 64 MB by default)",
    )

    @property
    def stuck_after_s(self) -> float:
        """How long one checkpoint may wait for the brokers (a flush, a transaction's commit)
        before the engine fails and is replaced — instead of hanging while they are away."""
        return max(self.broker_timeout_s * 2, self.session_timeout_s, 10.0)

    @property
    def dead_letters(self) -> str:
        """The dead-letter topic's name."""
        return self.dead_letter_topic or f"{self.application_id}-dlt"

    @property
    def state_path(self) -> Path:
        """``state_dir``, or the per-user default."""
        return Path(self.state_dir) if self.state_dir else default_state_dir()


def default_state_dir() -> Path:
    """The per-user folder for state stores: ``$XDG_DATA_HOME/kafka-kit/streams`` on Linux.

    Never the working directory: a store there ends up in a repository or a container layer.
    """
    return user_data_path("kafka-kit", appauthor=False) / "streams"
