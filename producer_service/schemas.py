"""What the producer answers."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field


class EventAccepted(BaseModel):
    """Where Kafka stored an accepted event (or, in outbox mode, that it is queued)."""

    id: UUID
    status: Literal["sent", "queued"] = "sent"
    topic: str
    partition: int | None = Field(description="None while queued in the outbox.")
    offset: int | None = Field(
        description="-1 when the producer runs with acks=0 and never learns it; None while queued."
    )


class BatchItemResult(BaseModel):
    """One event of a batch: accepted with its coordinates, or failed with the reason."""

    index: int
    id: UUID
    status: Literal["accepted", "queued", "failed"]
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


class OutboxStatus(BaseModel):
    """The outbox's backlog."""

    pending: int
    delivered: int
    oldest_pending_age_s: float | None


class ErrorBody(BaseModel):
    """An error with its reason."""

    detail: str
