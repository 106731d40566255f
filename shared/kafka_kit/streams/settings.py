"""Settings of a stream-processing application (env ``KAFKA_STREAMS_*``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from platformdirs import user_data_path
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from kafka_kit.topic_names import TOPIC_NAME_PATTERN

__all__ = ["StreamsSettings", "default_state_dir"]


class StreamsSettings(BaseSettings):
    """One stream-processing application: its id, guarantee, and how it shares work.

    Named as in Kafka Streams where a setting means the same: ``application_id`` is the consumer
    group and the prefix of every internal topic; ``application_server`` is this instance's URL
    that the other instances learn (``application.server``).
    """

    model_config = SettingsConfigDict(env_prefix="KAFKA_STREAMS_", extra="ignore")

    application_id: str = Field(
        default="event-stats",
        pattern=TOPIC_NAME_PATTERN,
        max_length=120,  # room for "changelog__<id>--<topic>--<store>"
        description="the consumer group and the prefix of the changelog and repartition topics",
    )
    processing_guarantee: Literal["exactly-once", "at-least-once"] = Field(
        default="exactly-once",
        description="`exactly-once`: state changes, output and offsets commit in one transaction",
    )
    commit_interval_s: float = Field(
        default=1.0, gt=0, description="how often progress commits (a checkpoint, a transaction)"
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

    @property
    def state_path(self) -> Path:
        """``state_dir``, or the per-user default."""
        return Path(self.state_dir) if self.state_dir else default_state_dir()


def default_state_dir() -> Path:
    """The per-user folder for state stores: ``$XDG_DATA_HOME/kafka-kit/streams`` on Linux.

    Never the working directory: a store there ends up in a repository or a container layer.
    """
    return user_data_path("kafka-kit", appauthor=False) / "streams"
