"""The producer service's HTTP settings (env ``PRODUCER_*``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from kafka_kit.topic_names import topic_name_problem


class ProducerApiSettings(BaseSettings):
    """Limits and access of the REST producer."""

    model_config = SettingsConfigDict(env_prefix="PRODUCER_", extra="ignore")

    allowed_topics: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="topics `?topic=` may name, comma-separated (the events topic always may)",
    )
    max_body_bytes: int = Field(
        default=1_048_576, gt=0, description="larger request bodies are answered `413`"
    )
    max_batch_events: int = Field(
        default=500, gt=0, description="larger `POST /events/batch` lists are answered `413`"
    )
    auth_token: SecretStr | None = Field(
        default=None, description="when set, writes need `Authorization: Bearer <token>`"
    )
    retry_after_s: int = Field(
        default=5, gt=0, description="the `Retry-After` of a `503` when Kafka cannot take a write"
    )
    delivery_mode: Literal["direct", "outbox"] = Field(
        default="direct",
        description="`direct`: answer after Kafka acknowledged; `outbox`: after the local outbox "
        "committed (`202`, `queued`), relayed to Kafka in the background",
    )
    outbox_path: str = Field(default="outbox.db", description="the outbox's SQLite file")

    @field_validator("allowed_topics", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("allowed_topics")
    @classmethod
    def _kafka_names(cls, topics: list[str]) -> list[str]:
        # Refused at start-up: a name Kafka rejects would make every write to it wait, then 503.
        problems = [p for p in map(topic_name_problem, topics) if p is not None]
        if problems:
            raise ValueError("; ".join(problems))
        return topics
