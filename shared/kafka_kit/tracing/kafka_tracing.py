"""``KafkaTracing``: OpenTelemetry spans around sends and listener calls (Spring's observation).

A send opens a PRODUCER span ``send <topic>`` and writes its W3C trace context into the record's
headers (replacing any the record carried). A record listener's call opens a CONSUMER span
``process <topic>`` whose parent is the context in the record's headers, so the trace goes on
from the send. A batch listener's call opens one ``process`` span with a link to every record's
context (OpenTelemetry's conventions for batches), and — unless ``record_spans_in_batches`` is
off — a ``process`` span per record, a child of that record's send, so each event's own trace shows
where it was handled. A send made while no span is current continues the trace of the record it
sends, if it carries one — from the listener call that just failed on it when the error handler
forwards it (to a retry topic, to the dead-letter topic), else from the record's own context (a
replay, the outbox relay).
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiokafka.structs import ConsumerRecord

from kafka_kit import __version__
from kafka_kit._extras import requires_extra
from kafka_kit.middleware import Middleware
from kafka_kit.observation import Invoke
from kafka_kit.records import ProducerRecord, SendResult
from kafka_kit.tracing import conventions as c
from kafka_kit.tracing.carrier import HEADERS_GETTER, HEADERS_SETTER, without

with requires_extra("otel", __name__):
    from opentelemetry import propagate, trace
    from opentelemetry.context import Context
    from opentelemetry.propagators.textmap import TextMapPropagator
    from opentelemetry.trace import (
        Link,
        Span,
        SpanContext,
        SpanKind,
        Status,
        StatusCode,
        Tracer,
    )

__all__ = ["KafkaTracing", "record_spans"]

Record = ConsumerRecord[bytes, bytes]


@dataclass
class _Active:
    """The traced listener call being made: its tracer and, in a batch, each record's span."""

    tracer: Tracer
    by_record: dict[int, Span] = field(default_factory=dict)


_FAILED: contextvars.ContextVar[dict[int, SpanContext] | None] = contextvars.ContextVar(
    "kafka_kit_failed_call", default=None
)
"""The spans of the listener call that just failed, by trace id. Set in the container's task and
left set when the call raises (an awaited coroutine shares its caller's context), so the error
handler's sends that follow — to a retry topic, to the dead-letter topic — are children of the
failed call; the next call clears it."""

_ACTIVE: contextvars.ContextVar[_Active | None] = contextvars.ContextVar(
    "kafka_kit_traced_call", default=None
)


class KafkaTracing:
    """Spans around sends and listener calls, W3C trace context in the headers.

    Give it to :class:`~kafka_kit.KafkaApp` (``tracing=``), or to a
    :class:`~kafka_kit.KafkaTemplate` and ``ListenerRegistry.start``.

    Args:
        tracer_provider: Where spans go; OpenTelemetry's global provider when omitted.
        propagator: Writes and reads the trace context; OpenTelemetry's global one (W3C trace
            context and baggage) when omitted.
        record_spans_in_batches: A batch listener's call also opens a span per record, in that
            record's trace.
    """

    def __init__(
        self,
        tracer_provider: trace.TracerProvider | None = None,
        propagator: TextMapPropagator | None = None,
        *,
        record_spans_in_batches: bool = True,
    ) -> None:
        self.tracer = trace.get_tracer("kafka_kit", __version__, tracer_provider=tracer_provider)
        """Makes the spans."""
        self._propagator = propagator
        self.record_spans_in_batches = record_spans_in_batches
        """Whether a batch listener's call opens a span per record too."""

    @property
    def propagator(self) -> TextMapPropagator:
        """The propagator given, else OpenTelemetry's global one (read when used)."""
        return self._propagator or propagate.get_global_textmap()

    # ---------------------------------------------------------------- context in headers
    def context_of(self, headers: Sequence[tuple[str, bytes]]) -> Context:
        """The trace context a record's headers carry (an empty context when none).

        Args:
            headers: The record's headers.
        """
        return self.propagator.extract(headers, getter=HEADERS_GETTER)

    def stamped(self, record: ProducerRecord) -> ProducerRecord:
        """``record`` with the current trace context in its headers (none current: as it is).

        What the outbox does when a record is queued, so the relay's send, later, continues the
        trace of the request that queued it.

        Args:
            record: The record to be sent later.
        """
        if not trace.get_current_span().get_span_context().is_valid:
            return record
        headers = without(record.headers, self.propagator.fields)
        self.propagator.inject(headers, setter=HEADERS_SETTER)
        return record._replace(headers=tuple(headers))

    @contextmanager
    def continued(self, headers: Sequence[tuple[str, bytes]], name: str) -> Iterator[Span]:
        """A span ``name``, current inside, in the trace ``headers`` carry (a replay).

        Args:
            headers: A consumed record's headers.
            name: The span's name.
        """
        with self.tracer.start_as_current_span(name, context=self.context_of(headers)) as span:
            yield span

    # ---------------------------------------------------------------- sends
    def send_middleware(self) -> Middleware:
        """The template's innermost middleware: a PRODUCER span and the trace headers."""
        return _SendSpans(self)

    async def _send(self, record: ProducerRecord, call_next: Any) -> SendResult:
        current = trace.get_current_span().get_span_context().is_valid
        parent = None if current else self._continued(record.headers)
        attributes: dict[str, Any] = {
            c.SYSTEM: c.KAFKA,
            c.OPERATION_NAME: "send",
            c.OPERATION_TYPE: "send",
            c.DESTINATION: record.topic,
        }
        if record.partition is not None:
            attributes[c.PARTITION] = str(record.partition)
        if (key := c.key_text(record.key)) is not None:
            attributes[c.MESSAGE_KEY] = key
        if record.value is None:
            attributes[c.TOMBSTONE] = True
        with self.tracer.start_as_current_span(
            c.span_name("send", [record.topic]),
            context=parent,
            kind=SpanKind.PRODUCER,
            attributes=attributes,
        ) as span:
            headers = without(record.headers, self.propagator.fields)
            self.propagator.inject(headers, setter=HEADERS_SETTER)
            try:
                result: SendResult = await call_next(record._replace(headers=tuple(headers)))
            except Exception as exc:
                span.set_attribute(c.ERROR_TYPE, c.error_type(exc))
                raise
            span.set_attribute(c.PARTITION, str(result.partition))
            if result.offset >= 0:
                span.set_attribute(c.OFFSET, result.offset)
            return result

    def _continued(self, headers: Sequence[tuple[str, bytes]]) -> Context:
        """The parent of a send made outside any span: the failed call of that record's trace,
        if one just failed (the error handler forwarding it), else the record's own context."""
        context = self.context_of(headers)
        failed = _FAILED.get()
        if failed:
            carried = trace.get_current_span(context).get_span_context()
            call = failed.get(carried.trace_id) if carried.is_valid else None
            if call is not None:
                return trace.set_span_in_context(trace.NonRecordingSpan(call))
        return context

    # ---------------------------------------------------------------- listener calls
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
        common: dict[str, Any] = {
            c.SYSTEM: c.KAFKA,
            c.OPERATION_NAME: "process",
            c.OPERATION_TYPE: "process",
            c.CLIENT_ID: client_id,
            c.LISTENER_ID: listener_id,
        }
        if group_id is not None:
            common[c.CONSUMER_GROUP] = group_id

        async def record_call(record: Any, acknowledgment: Any, deps: Mapping[type, Any]) -> Any:
            _FAILED.set(None)
            span = self._record_span(record, common, self.context_of(record.headers), [])
            with trace.use_span(span, end_on_exit=True):
                token = _ACTIVE.set(_Active(self.tracer))
                try:
                    return await invoke(record, acknowledgment, deps)
                except Exception as exc:
                    span.set_attribute(c.ERROR_TYPE, c.error_type(exc))
                    failed = span.get_span_context()
                    _FAILED.set({failed.trace_id: failed})
                    raise
                finally:
                    _ACTIVE.reset(token)

        async def batch_call(records: Any, acknowledgment: Any, deps: Mapping[type, Any]) -> Any:
            _FAILED.set(None)
            contexts = [self.context_of(r.headers) for r in records]
            links = [
                Link(context)
                for ctx in contexts
                if (context := trace.get_current_span(ctx).get_span_context()).is_valid
            ]
            with self.tracer.start_as_current_span(
                c.span_name("process", [r.topic for r in records]),
                kind=SpanKind.CONSUMER,
                links=links,
                attributes={**common, c.BATCH_COUNT: len(records)},
            ) as span:
                spans = _Active(self.tracer)
                if self.record_spans_in_batches:
                    link = [Link(span.get_span_context())]
                    for record, ctx in zip(records, contexts, strict=True):
                        spans.by_record[id(record)] = self._record_span(record, common, ctx, link)
                token = _ACTIVE.set(spans)
                try:
                    return await invoke(records, acknowledgment, deps)
                except Exception as exc:
                    for each in (span, *spans.by_record.values()):
                        _failed(each, exc)
                    # A record forwarded now continues from its own span (or the batch's).
                    calls = [s.get_span_context() for s in (*spans.by_record.values(), span)]
                    _FAILED.set({context.trace_id: context for context in reversed(calls)})
                    raise
                finally:
                    _ACTIVE.reset(token)
                    for each in spans.by_record.values():
                        each.end()

        return batch_call if batch else record_call

    def _record_attributes(self, record: Record, common: dict[str, Any]) -> dict[str, Any]:
        attributes = {
            **common,
            c.DESTINATION: record.topic,
            c.PARTITION: str(record.partition),
            c.OFFSET: record.offset,
        }
        if (key := c.key_text(record.key)) is not None:
            attributes[c.MESSAGE_KEY] = key
        if record.value is None:
            attributes[c.TOMBSTONE] = True
        return attributes

    def _record_span(
        self, record: Record, common: dict[str, Any], parent: Context, links: list[Link]
    ) -> Span:
        return self.tracer.start_span(
            c.span_name("process", [record.topic]),
            context=parent,
            kind=SpanKind.CONSUMER,
            links=links,
            attributes=self._record_attributes(record, common),
        )


class _SendSpans(Middleware):
    """The template's innermost middleware (``KafkaTracing.send_middleware``)."""

    def __init__(self, tracing: KafkaTracing) -> None:
        self.tracing = tracing

    async def on_send(self, record: ProducerRecord, call_next: Any) -> SendResult:
        """A PRODUCER span around the send; the trace context into the headers.

        Args:
            record: The record as it goes to the producer.
            call_next: Sends it.
        """
        return await self.tracing._send(record, call_next)


def _failed(span: Span, exc: BaseException) -> None:
    span.record_exception(exc)
    span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
    span.set_attribute(c.ERROR_TYPE, c.error_type(exc))


@contextmanager
def record_spans(name: str, records: Sequence[Record]) -> Iterator[list[Span]]:
    """A span ``name`` per record, each a child of that record's ``process`` span.

    In a batch listener with per-record spans, each event's own trace then shows the work done
    for it (the consumer service's store write); in a record listener, or a batch without them,
    one child of the current span. Outside a traced call: nothing, and no cost.

    Args:
        name: The spans' name (``store events``).
        records: The records the work is for.
    """
    active = _ACTIVE.get()
    if active is None:
        yield []
        return
    parents = [active.by_record.get(id(r)) for r in records]
    if not any(parents):
        with active.tracer.start_as_current_span(name) as span:
            yield [span]
        return
    spans = [
        active.tracer.start_span(name, context=trace.set_span_in_context(parent))
        for parent in parents
        if parent is not None
    ]
    try:
        yield spans
    except Exception as exc:
        for span in spans:
            _failed(span, exc)
        raise
    finally:
        for span in spans:
            span.end()
