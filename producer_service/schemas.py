"""What the producer answers."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field


class EventAccepted(BaseModel):
    """Where Kafka stored an accepted event."""

    id: UUID
    topic: str
    partition: int
    offset: int = Field(description="-1 when the producer runs with acks=0 and never learns it.")


class BatchItemResult(BaseModel):
    """One event of a batch: accepted with its coordinates, or failed with the reason."""

    index: int
    id: UUID
    status: Literal["accepted", "failed"]
    code: int = Field(description="202 accepted; 503 retry later; 413 too large; 502 rejected.")
    topic: str
    partition: int | None = None
    offset: int | None = None
    error: str | None = None


class BatchResult(BaseModel):
    """Per-event results, in request order."""

    accepted: int
    failed: int
    results: list[BatchItemResult]


class ErrorBody(BaseModel):
    """An error with its reason."""

    detail: str
