"""What the console shows, handed over by the app that serves it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from kafka_kit.lag.monitor import LagMonitors
from kafka_kit.recovery.dead_letter_replay import DeadLetterReplayer
from kafka_kit.registry import ListenerRegistry
from kafka_kit.settings import KafkaSettings
from kafka_kit.web.auth import ApiTokens

__all__ = ["ConnectorsSource", "ConsoleSources", "StreamsSource", "TracesSource"]


class StreamsSource(Protocol):
    """A stream processing application as the console shows it (``StreamsApplication``)."""

    def health(self) -> dict[str, Any]:
        """State, error, last restore, partitions, records processed."""
        ...


class ConnectorsSource(Protocol):
    """A Kafka Connect cluster as the console shows it (``ConnectClient``)."""

    async def connectors(self) -> list[str]:
        """Every connector's name."""
        ...

    async def status(self, name: str) -> Any:
        """A connector's state and its tasks' (a ``ConnectorStatus``).

        Args:
            name: The connector.
        """
        ...


class TracesSource(Protocol):
    """A trace backend as the console shows it (``kafka_kit.web.console.traces.JaegerQuery``)."""

    async def trace(self, trace_id: str) -> dict[str, Any] | None:
        """The trace in Jaeger's JSON (``spans``, ``processes``); ``None`` when unknown.

        Args:
            trace_id: 32 hex digits.
        """
        ...

    def trace_url(self, trace_id: str) -> str:
        """Where the backend's own UI shows the trace.

        Args:
            trace_id: 32 hex digits.
        """
        ...


@dataclass
class ConsoleSources:
    """The app's clients and registries the console reads (and the tokens its login checks)."""

    kafka: KafkaSettings
    """How to reach the cluster (for the cluster page)."""
    registry: ListenerRegistry
    """The listeners."""
    monitors: LagMonitors
    """The lag monitors."""
    tokens: ApiTokens
    """What the login form checks."""
    dead_letters: DeadLetterReplayer | None = None
    """Reads and replays dead-letter topics (``None``: no DLT page)."""
    connect: ConnectorsSource | None = None
    """The Connect client (``None``: no connectors page)."""
    streams: Sequence[StreamsSource] = ()
    """The stream applications."""
    recent_events: Callable[[int], list[dict[str, Any]]] | None = None
    """The latest events a listener handled, newest last (JSON: event, topic, partition,
    offset)."""
    stored_in: str | None = None
    """Where those events were stored, said for people (no password)."""
    traces: TracesSource | None = None
    """Where the events' traces are read (``None``: trace ids are shown, not linked)."""
