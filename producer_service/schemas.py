"""What the producer answers."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

SendStatus = Literal["sent", "queued", "failed"]
"""One vocabulary for single and batch answers: ``sent`` — Kafka acknowledged it (per ``acks``);
``queued`` — the outbox committed it and will relay it; ``failed`` — neither (see ``code``)."""


class EventAccepted(BaseModel):
    """Where Kafka stored an accepted event (or, in outbox mode, that it is queued)."""

    id: UUID
    status: Literal["sent", "queued"] = Field(
        default="sent",
        description="`sent`: Kafka acknowledged it; `queued`: the outbox committed it.",
    )
    topic: str
    partition: int | None = Field(description="None while queued in the outbox.")
    offset: int | None = Field(
        description="-1 when the producer runs with acks=0 and never learns it; None while queued."
    )


class BatchItemResult(BaseModel):
    """One event of a batch: accepted with its coordinates, or failed with the reason."""

    index: int
    id: UUID
    status: SendStatus = Field(
        description="`sent`: Kafka acknowledged it; `queued`: the outbox committed it; "
        "`failed`: neither, see `code` and `error`."
    )
    code: int = Field(
        description="202 sent or queued; 503 retry later; 413 too large; 502 rejected."
    )
    topic: str
    partition: int | None = None
    offset: int | None = None
    error: str | None = None


class BatchResult(BaseModel):
    """Per-event results, in request order, and how many ended how."""

    sent: int
    queued: int
    failed: int
    results: list[BatchItemResult]

    @classmethod
    def of(cls, results: list[BatchItemResult]) -> BatchResult:
        """The results with their counts."""
        counts = {status: 0 for status in ("sent", "queued", "failed")}
        for result in results:
            counts[result.status] += 1
        return cls(**counts, results=results)


class OutboxStatus(BaseModel):
    """The outbox's backlog."""

    pending: int
    delivered: int
    oldest_pending_age_s: float | None


class ErrorBody(BaseModel):
    """An error with its reason."""

    detail: str
