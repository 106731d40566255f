"""Read-only views of listener containers: state, partitions, offsets, lag, counters."""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = ["ContainerMetrics", "ContainerStatus", "ListenerStatus", "PartitionStatus"]


class PartitionStatus(BaseModel):
    """One assigned partition as its consumer sees it."""

    topic: str
    partition: int
    position: int | None = Field(description="The next offset this consumer will read.")
    committed: int | None = Field(description="The group's committed offset (next to read).")
    end_offset: int | None = Field(description="The partition's log-end offset (high watermark).")
    lag: int | None = Field(description="end_offset - position: records not read yet.")
    paused: bool


class ContainerMetrics(BaseModel):
    """Counters of one container since it was created."""

    polls: int = 0
    records_handled: int = 0
    records_failed: int = 0
    records_filtered: int = 0
    retries: int = 0
    recovered: int = 0
    dead_lettered: int = 0
    commits: int = 0
    restarts: int = 0
    rebalances: int = 0
    delayed: int = 0

    def count(self, outcome: str, records: int = 1) -> None:
        """A listener observer: add ``records`` to the counter of ``outcome``."""
        field = _FIELD_OF_OUTCOME[outcome]
        setattr(self, field, getattr(self, field) + records)


_FIELD_OF_OUTCOME = {
    "handled": "records_handled",
    "failed": "records_failed",
    "filtered": "records_filtered",
    "retried": "retries",
    "recovered": "recovered",
    "dead_lettered": "dead_lettered",
}


class ContainerStatus(BaseModel):
    """One consumer of a listener."""

    client_id: str
    state: str
    error: str | None = Field(description="Why it failed or stalled, when it did.")
    partitions: list[PartitionStatus]
    records_lag_max: int | None
    metrics: ContainerMetrics


class ListenerStatus(BaseModel):
    """A listener: its subscription, aggregate state and every container."""

    id: str
    group_id: str | None
    topics: list[str]
    pattern: str | None
    state: str
    concurrency: int
    ack_mode: str
    records_lag_max: int | None
    containers: list[ContainerStatus]
