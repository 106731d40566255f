"""What the template and the listener containers ask of a tracer: a leaf protocol.

:class:`kafka_kit.tracing.KafkaTracing` implements it with OpenTelemetry; the template and the
containers only see this, so they import nothing optional and cost nothing without one (Spring's
``observationEnabled=false``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from kafka_kit.middleware import Middleware
    from kafka_kit.records import ProducerRecord

__all__ = ["Invoke", "Observation"]

Invoke = Callable[[Any, Any, Mapping[type, Any]], Awaitable[Any]]
"""A container's handler call: ``(record or records, acknowledgment, dependencies)``."""


class Observation(Protocol):
    """Spans around sends (a template middleware) and around listener calls."""

    def send_middleware(self) -> Middleware:
        """The template's innermost middleware: a PRODUCER span and the trace headers."""
        ...

    def stamped(self, record: ProducerRecord) -> ProducerRecord:
        """``record`` with the current trace context in its headers, to be sent later.

        Args:
            record: A record to be queued (the outbox).
        """
        ...

    def continued(
        self, headers: Sequence[tuple[str, bytes]], name: str
    ) -> AbstractContextManager[object]:
        """A span ``name``, current inside, in the trace ``headers`` carry (a replay).

        Args:
            headers: A consumed record's headers.
            name: The span's name.
        """
        ...

    def traced_invoke(
        self,
        invoke: Invoke,
        *,
        listener_id: str,
        group_id: str | None,
        client_id: str,
        batch: bool,
    ) -> Invoke:
        """``invoke`` inside a CONSUMER span (record) or a batch span with links.

        Args:
            invoke: The endpoint's handler call.
            listener_id: The listener's id.
            group_id: Its consumer group.
            client_id: The consumer's client id.
            batch: Whether the handler gets a list of records.
        """
        ...
