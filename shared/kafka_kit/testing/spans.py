"""Finished spans kept in memory, for tests of traced code (Spring's ``TestObservationRegistry``).

.. code-block:: python

    spans = SpanRecorder()
    app = KafkaApp(tracing=spans.tracing)
    ...
    send = spans.one("send orders")
    assert spans.one("process orders").parent.span_id == send.context.span_id

Needs the ``otel`` extra (the SDK's in-memory exporter).
"""

from __future__ import annotations

from collections.abc import Callable

from kafka_kit._extras import requires_extra
from kafka_kit.testing.records import wait_until
from kafka_kit.tracing import KafkaTracing

with requires_extra("otel", __name__):
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

__all__ = ["SpanRecorder"]


class SpanRecorder:
    """A tracer provider whose finished spans stay in memory, and a ``KafkaTracing`` on it.

    Args:
        record_spans_in_batches: Passed to :class:`~kafka_kit.tracing.KafkaTracing`.
    """

    def __init__(self, *, record_spans_in_batches: bool = True) -> None:
        self.exporter = InMemorySpanExporter()
        """Holds the finished spans."""
        self.provider = TracerProvider()
        """Give it to other instrumentation (FastAPI's) to record its spans here too."""
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.tracing = KafkaTracing(self.provider, record_spans_in_batches=record_spans_in_batches)
        """Give it to ``KafkaApp(tracing=...)``."""

    def finished(self) -> list[ReadableSpan]:
        """Every span finished so far, in the order they ended."""
        return list(self.exporter.get_finished_spans())

    def named(self, name: str) -> list[ReadableSpan]:
        """The finished spans called ``name``.

        Args:
            name: A span name (``send orders``).
        """
        return [span for span in self.finished() if span.name == name]

    def one(self, name: str) -> ReadableSpan:
        """The one finished span called ``name``; ``AssertionError`` for none or several.

        Args:
            name: A span name.
        """
        found = self.named(name)
        assert len(found) == 1, f"{len(found)} spans named {name!r}: {self.names()}"
        return found[0]

    def names(self) -> list[str]:
        """The finished spans' names, in the order they ended."""
        return [span.name for span in self.finished()]

    async def wait_for(
        self, condition: Callable[[list[ReadableSpan]], bool], timeout_s: float, what: str
    ) -> None:
        """Wait until ``condition`` holds for the finished spans.

        Args:
            condition: Given every finished span.
            timeout_s: How long to wait before failing.
            what: What is awaited, for the failure's message.
        """
        await wait_until(lambda: condition(self.finished()), timeout_s, what)
