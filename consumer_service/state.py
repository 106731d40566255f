"""The consumer's state: what its routes and console use, typed, in one object on the app."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, TypeVar

from fastapi import Depends, HTTPException, status
from prometheus_client import CollectorRegistry

from consumer_service.event_stats import EventStats
from consumer_service.event_store import EventStore
from consumer_service.listeners import RecentEvents
from consumer_service.order_changes import OrderChanges
from consumer_service.work_queue import WorkDone
from kafka_kit import KafkaSettings, ListenerRegistry
from kafka_kit.connect import ConnectClient
from kafka_kit.lag import LagMonitors
from kafka_kit.recovery import DeadLetterReplayer
from kafka_kit.streams import StreamsApplication
from kafka_kit.web.auth import ApiTokens
from kafka_kit.web.console.traces import JaegerQuery
from kafka_kit.web.service import ServiceSettings, state_of

_Part = TypeVar("_Part")


@dataclass
class ConsumerState:
    """The listeners and what they use, the lag monitors, the stream applications."""

    kafka_settings: KafkaSettings
    registry: ListenerRegistry
    service: ServiceSettings
    lag_monitors: LagMonitors
    recent_events: RecentEvents
    order_changes: OrderChanges
    work_done: WorkDone
    stored_in: str
    """Where events are stored, for people (no password)."""
    metrics_registries: tuple[CollectorRegistry, ...]
    api_tokens: ApiTokens
    connect: ConnectClient | None = None
    """``None`` without ``CONNECT_URL``."""
    streams_apps: list[StreamsApplication] = field(default_factory=list)
    event_stats: EventStats | None = None
    """The example topology, while it runs."""
    event_store: EventStore | None = None
    """Opened at start, before the listeners."""
    dead_letters: DeadLetterReplayer | None = None
    traces: JaegerQuery | None = None
    """Where the console reads the events' traces (``TRACING_UI_URL``)."""
    """Made at start, with the template."""

    def opened_store(self) -> EventStore:
        """The event store; 503 before the service has opened it."""
        return _started(self.event_store, "the event store")

    def replayer(self) -> DeadLetterReplayer:
        """The dead-letter reader and replayer; 503 before the service has started."""
        return _started(self.dead_letters, "the dead-letter reader")


def _started(part: _Part | None, what: str) -> _Part:
    if part is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"{what} is not open yet")
    return part


State = Annotated[ConsumerState, Depends(state_of(ConsumerState))]
"""A route parameter that receives the consumer's state."""
