"""The life-cycle states of a stream-processing application, as Kafka Streams names them."""

from __future__ import annotations

import enum

__all__ = ["StreamsState"]


class StreamsState(enum.StrEnum):
    """``KafkaStreams.State``: what an application is doing, for health checks and metrics."""

    CREATED = "CREATED"
    REBALANCING = "REBALANCING"
    """Partitions are being (re)assigned, or state is being restored from changelogs."""
    RUNNING = "RUNNING"
    PENDING_SHUTDOWN = "PENDING_SHUTDOWN"
    NOT_RUNNING = "NOT_RUNNING"
    RESTARTING = "RESTARTING"
    """It failed (a broker away too long, a fenced producer, a lost transaction) and waits for
    its restart from the committed state. Not one of Kafka Streams' states: its REPLACE_THREAD
    shows REBALANCING; here the back-off before the restart is said as what it is."""
    ERROR = "ERROR"
    """Stopped for good: a policy said ``fail`` (Kafka Streams' SHUTDOWN_CLIENT); the failed
    record's offset was not committed, so a restart by hand processes it again."""

    @property
    def healthy(self) -> bool:
        """Whether a health check should pass (rebalancing is a normal, passing phase)."""
        return self in (StreamsState.CREATED, StreamsState.REBALANCING, StreamsState.RUNNING)
