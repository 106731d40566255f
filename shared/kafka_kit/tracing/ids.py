"""Trace ids as text: the current span's, and the one a record's headers carry."""

from __future__ import annotations

from collections.abc import Sequence

from kafka_kit._extras import requires_extra
from kafka_kit.tracing.carrier import HEADERS_GETTER

with requires_extra("otel", __name__):
    from opentelemetry import trace
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

__all__ = ["current_ids", "trace_id_of"]

_W3C = TraceContextTextMapPropagator()


def current_ids() -> tuple[str, str] | None:
    """``(trace_id, span_id)`` of the current span as 32 and 16 hex digits; ``None`` if none."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return trace.format_trace_id(context.trace_id), trace.format_span_id(context.span_id)


def trace_id_of(headers: Sequence[tuple[str, bytes]]) -> str | None:
    """The trace id in a record's W3C ``traceparent`` header (32 hex digits); ``None`` if none.

    Args:
        headers: The record's headers.
    """
    if not any(name == "traceparent" for name, _ in headers):
        return None  # the common case without tracing: no parsing
    context = trace.get_current_span(_W3C.extract(headers, getter=HEADERS_GETTER))
    span_context = context.get_span_context()
    return trace.format_trace_id(span_context.trace_id) if span_context.is_valid else None
