"""Record headers as an OpenTelemetry carrier: W3C ``traceparent``/``tracestate`` in, and out.

Header values are bytes; the trace context's are ASCII, read and written as Latin-1 so any byte
survives a round trip. Another tracer's headers (Spring's Micrometer bridge, FastStream's
middleware) are the same W3C fields, so a trace crosses languages.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from kafka_kit._extras import requires_extra

with requires_extra("otel", __name__):
    from opentelemetry.propagators.textmap import Getter, Setter

__all__ = ["HEADERS_GETTER", "HEADERS_SETTER", "HeaderList", "without"]

HeaderList = list[tuple[str, bytes]]
"""Headers being written: ``(name, value)`` pairs."""


class _HeadersGetter(Getter[Sequence[tuple[str, bytes]]]):
    def get(self, carrier: Sequence[tuple[str, bytes]], key: str) -> list[str] | None:
        values = [value.decode("latin-1") for name, value in carrier if name == key and value]
        return values or None

    def keys(self, carrier: Sequence[tuple[str, bytes]]) -> list[str]:
        return [name for name, _ in carrier]


class _HeadersSetter(Setter[HeaderList]):
    def set(self, carrier: HeaderList, key: str, value: str) -> None:
        carrier.append((key, value.encode("latin-1")))


HEADERS_GETTER = _HeadersGetter()
"""Reads trace fields from a record's headers."""
HEADERS_SETTER = _HeadersSetter()
"""Appends trace fields to headers being written."""


def without(headers: Iterable[tuple[str, bytes]], names: Iterable[str]) -> HeaderList:
    """``headers`` less every header called one of ``names`` (a record's old trace context).

    Args:
        headers: The record's headers.
        names: The propagator's fields.
    """
    dropped = set(names)
    return [(name, value) for name, value in headers if name not in dropped]
