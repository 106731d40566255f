"""The console's trace view: a trace read back from Jaeger's query API, as rows to draw.

Standard library only (``urllib`` in a thread), so the console can show a trace without another
dependency. Jaeger's JSON: ``spans`` (``spanID``, ``operationName``, ``references`` with
``CHILD_OF``, ``startTime`` and ``duration`` in microseconds, ``tags``), ``processes`` (their
``serviceName``).
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

__all__ = ["JaegerQuery", "TraceRow", "trace_rows"]


@dataclass(frozen=True)
class TraceRow:
    """One span of a trace, placed for a waterfall: depth under its parent, start and length."""

    span_id: str
    """16 hex digits."""
    parent_id: str | None
    """Its parent's span id (``None``: a root, or a parent Jaeger has not received)."""
    service: str
    """``service.name`` of the process that made it."""
    name: str
    """``send orders``, ``process orders``, ``POST /events``…"""
    kind: str
    """``producer``, ``consumer``, ``server``, ``internal``…"""
    depth: int
    """How many ancestors it has in the trace."""
    start_ms: float
    """Milliseconds after the trace's first span started."""
    duration_ms: float
    """How long it took."""
    error: bool
    """Whether it ended with an error."""


def trace_rows(trace: dict[str, Any]) -> list[TraceRow]:
    """The spans of a Jaeger trace in waterfall order: each parent before its children, by start.

    Args:
        trace: One element of the query API's ``data``.
    """
    spans = trace.get("spans") or []
    processes = trace.get("processes") or {}
    by_id = {span["spanID"]: span for span in spans}
    children: dict[str | None, list[dict[str, Any]]] = {}
    for span in spans:
        parents = [
            r["spanID"] for r in span.get("references", []) if r.get("refType") == "CHILD_OF"
        ]
        parent = parents[0] if parents and parents[0] in by_id else None
        children.setdefault(parent, []).append(span)
    begin = min((span["startTime"] for span in spans), default=0)
    rows: list[TraceRow] = []

    def visit(parent: str | None, depth: int) -> None:
        for span in sorted(children.get(parent, []), key=lambda s: s["startTime"]):
            tags = {t["key"]: t.get("value") for t in span.get("tags", [])}
            rows.append(
                TraceRow(
                    span_id=span["spanID"],
                    parent_id=parent,
                    service=processes.get(span.get("processID"), {}).get("serviceName", "?"),
                    name=span["operationName"],
                    kind=str(tags.get("span.kind", "internal")),
                    depth=depth,
                    start_ms=(span["startTime"] - begin) / 1000,
                    duration_ms=span["duration"] / 1000,
                    error=tags.get("error") is True or tags.get("otel.status_code") == "ERROR",
                )
            )
            visit(span["spanID"], depth + 1)

    visit(None, 0)
    return rows


class JaegerQuery:
    """Jaeger's query API at ``url`` (``http://127.0.0.1:16686``).

    Args:
        url: Where Jaeger's query service answers (its UI's address).
        timeout_s: How long one request may take.
    """

    def __init__(self, url: str, timeout_s: float = 5.0) -> None:
        self.url = url.rstrip("/")
        """The query service's address."""
        self.timeout_s = timeout_s
        """How long one request may take."""

    def trace_url(self, trace_id: str) -> str:
        """Where Jaeger's UI shows the trace.

        Args:
            trace_id: 32 hex digits.
        """
        return f"{self.url}/trace/{trace_id}"

    def trace_sync(self, trace_id: str) -> dict[str, Any] | None:
        """The trace as the query API gives it; ``None`` when Jaeger does not know it (yet).

        Raises ``OSError`` when Jaeger does not answer.

        Args:
            trace_id: 32 hex digits.
        """
        request = f"{self.url}/api/traces/{trace_id}"
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as answer:
                data = json.loads(answer.read()).get("data") or []
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise
        return data[0] if data else None

    async def trace(self, trace_id: str) -> dict[str, Any] | None:
        """:meth:`trace_sync` without blocking the event loop.

        Args:
            trace_id: 32 hex digits.
        """
        return await asyncio.to_thread(self.trace_sync, trace_id)
