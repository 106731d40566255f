"""Read-only views of listener containers: state, partitions, offsets, lag, counters."""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = [
    "ContainerMetrics",
    "ContainerStatus",
    "ListenerStatus",
    "PartitionStatus",
    "ShareMemberStatus",
]


class PartitionStatus(BaseModel):
    """One assigned partition as its consumer sees it."""

    topic: str
    """The topic."""
    partition: int
    """The partition."""
    position: int | None = Field(description="The next offset this consumer will read.")
    committed: int | None = Field(description="The group's committed offset (next to read).")
    end_offset: int | None = Field(description="The partition's log-end offset (high watermark).")
    lag: int | None = Field(description="end_offset - position: records not read yet.")
    paused: bool
    """Fetching from it is paused (a back-off, or a user's pause)."""


class ContainerMetrics(BaseModel):
    """Counters of one container since it was created."""

    polls: int = 0
    """Polls that returned records."""
    records_handled: int = 0
    """Records whose handler returned."""
    records_failed: int = 0
    """Deliveries whose handler raised."""
    records_filtered: int = 0
    """Records the listener's filter dropped."""
    retries: int = 0
    """Deliveries again after a failure."""
    recovered: int = 0
    """Records the recoverer took."""
    dead_lettered: int = 0
    """Records published to a dead-letter topic."""
    commits: int = 0
    """Offset commits."""
    restarts: int = 0
    """Times the consumer was made anew after a failure."""
    rebalances: int = 0
    """Assignments received."""
    delayed: int = 0
    """Retry-topic records that waited for their time."""
    records_released: int = 0
    """Share-group records given back to the broker (delivered again, maybe elsewhere)."""
    records_rejected: int = 0
    """Share-group records archived as unprocessable (after a dead letter, or by the handler)."""

    def count(self, outcome: str, records: int = 1) -> None:
        """A listener observer: add ``records`` to the counter of ``outcome``.

        Args:
            outcome: The counter's name (``handled`` counts ``records_handled``…).
            records: How many.
        """
        field = _FIELD_OF_OUTCOME[outcome]
        setattr(self, field, getattr(self, field) + records)


_FIELD_OF_OUTCOME = {
    "handled": "records_handled",
    "failed": "records_failed",
    "filtered": "records_filtered",
    "retried": "retries",
    "recovered": "recovered",
    "dead_lettered": "dead_lettered",
    "released": "records_released",
    "rejected": "records_rejected",
}


class ShareMemberStatus(BaseModel):
    """A share-group member as the broker knows it, and the records it holds."""

    member_id: str
    """Its member id (the group description's)."""
    member_epoch: int
    """Its epoch in the group."""
    acquired: int
    """Records it acquired and has not settled yet (in flight)."""
    pending_acknowledgements: int
    """Settled records whose acknowledgement goes with the next fetch."""
    lock_timeout_ms: int | None
    """How long an acquired record stays its own (the broker's answer)."""
    acknowledgements_refused: int
    """Acknowledgements the broker refused (their locks had run out)."""


class ContainerStatus(BaseModel):
    """One consumer of a listener."""

    client_id: str
    """The consumer's client id."""
    state: str
    """``RUNNING``, ``PAUSED``, ``FAILED``…"""
    error: str | None = Field(description="Why it failed or stalled, when it did.")
    partitions: list[PartitionStatus]
    """Its assigned partitions."""
    records_lag_max: int | None
    """The most lag of its partitions (``None``: unknown)."""
    metrics: ContainerMetrics
    """Its counters."""
    share: ShareMemberStatus | None = None
    """A share-group member's view (``None`` for a consumer-group consumer)."""


class ListenerStatus(BaseModel):
    """A listener: its subscription, aggregate state and every container."""

    id: str
    """The listener's id."""
    group_id: str | None
    """Its consumer group."""
    topics: list[str]
    """The topics it reads."""
    pattern: str | None
    """Its topic regex, if any."""
    state: str
    """The worst of its containers' states."""
    concurrency: int
    """How many containers."""
    ack_mode: str
    """When it commits."""
    records_lag_max: int | None
    """The most lag of its partitions."""
    containers: list[ContainerStatus]
    """Each container."""
    share_group: bool = False
    """It reads as a share group (KIP-932): its members share partitions."""
