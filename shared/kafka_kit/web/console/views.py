"""Each console page's data, gathered from the app's clients and shaped for its template."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from kafka_kit.cluster_view import ClusterView, GroupInfo, PartitionInfo, describe_cluster_view
from kafka_kit.lag.evaluator import GroupStatus, Status
from kafka_kit.lag.monitor import ClusterLagMonitor
from kafka_kit.lag.reasons import status_reason
from kafka_kit.lag.store import PartitionLag
from kafka_kit.recovery.dead_letter import DLT_SUFFIX, dead_letter_topic
from kafka_kit.web.console.chart import LagChart, lag_chart
from kafka_kit.web.console.sources import ConsoleSources
from kafka_kit.web.console.traces import trace_rows

__all__ = [
    "GroupCard",
    "PartitionRow",
    "cluster_page",
    "connect_page",
    "dead_letter_topic_page",
    "dead_letters_page",
    "events_page",
    "groups_page",
    "listeners_page",
    "severity",
    "trace_page",
]

_SEVERITY = {
    Status.NOTFOUND: "muted",
    Status.OK: "ok",
    Status.WARN: "warn",
    Status.ERR: "bad",
    Status.STOP: "bad",
    Status.STALL: "bad",
    Status.REWIND: "warn",
}


def severity(status: Status) -> str:
    """The CSS class a Burrow status is shown with: ok, warn, bad, muted.

    Args:
        status: A Burrow status.
    """
    return _SEVERITY[status]


@dataclass(frozen=True)
class PartitionRow:
    """A partition of the cluster page, with what is wrong with it."""

    topic: str
    """The topic."""
    info: PartitionInfo
    """Leader, replicas and ISR."""

    @property
    def offline(self) -> bool:
        """No leader, or a replica whose log directory is offline."""
        return self.info.leader < 0 or bool(self.info.offline_replicas)

    @property
    def under_replicated(self) -> bool:
        """Fewer replicas in sync than assigned."""
        return len(self.info.isr) < len(self.info.replicas)


async def cluster_page(sources: ConsoleSources) -> dict[str, Any]:
    """Brokers, the KRaft quorum, and every partition with leader, replicas and ISR.

    Args:
        sources: What the console reads.
    """
    view: ClusterView = await describe_cluster_view(sources.kafka)
    rows = [PartitionRow(t.name, p) for t in view.topics for p in t.partitions]
    return {
        "view": view,
        "rows": rows,
        "offline": sum(r.offline for r in rows),
        "under_replicated": sum(r.under_replicated for r in rows),
    }


@dataclass
class GroupCard:
    """A consumer group of one watched cluster: Burrow's verdict, lag, members, chart."""

    cluster: str
    """The watched cluster."""
    group: str
    """The consumer group."""
    status: GroupStatus
    """Burrow's evaluation."""
    reason: str
    """The rule behind the status, in words."""
    chart: LagChart
    """Its lag over time."""
    described: GroupInfo | None
    """Members and assignment (``None``: the cluster did not say)."""
    offsets: dict[tuple[str, int], PartitionLag] = field(default_factory=dict)
    """Log end, committed offset and lag by (topic, partition)."""


def groups_page(sources: ConsoleSources) -> dict[str, Any]:
    """Every group of every watched cluster, worst status first.

    Args:
        sources: What the console reads.
    """
    now_ms = int(time.time() * 1000)
    cards = [
        _card(monitor, group, now_ms)
        for monitor in sources.monitors.monitors.values()
        for group in sorted(set(monitor.groups()) | set(monitor.described))
    ]
    cards.sort(key=lambda c: (-c.status.status, c.cluster, c.group))
    return {"cards": cards, "monitors": sources.monitors.states()}


def _card(monitor: ClusterLagMonitor, group: str, now_ms: int) -> GroupCard:
    status = monitor.status(group)
    lag = monitor.group_lag(group)
    return GroupCard(
        cluster=monitor.name,
        group=group,
        status=status,
        reason=status_reason(status, now_ms),
        chart=lag_chart(monitor.history.series(group)),
        described=monitor.described.get(group),
        offsets={(p.topic, p.partition): p for p in lag.partitions} if lag else {},
    )


async def listeners_page(sources: ConsoleSources) -> dict[str, Any]:
    """Every listener with its containers, partitions and counters.

    Args:
        sources: What the console reads.
    """
    return {"listeners": await sources.registry.statuses()}


def dead_letters_page(sources: ConsoleSources) -> dict[str, Any]:
    """Every dead-letter topic, with how many records its partitions hold up to their end.

    Args:
        sources: What the console reads.
    """
    # The local cluster's lag monitor lists every topic and samples every partition's log end
    # each LAG_OFFSET_REFRESH_S anyway: no request to Kafka per render.
    monitor = sources.monitors.get("local") or next(iter(sources.monitors.monitors.values()))
    names = [topic for topic in monitor.topics() if topic.endswith(DLT_SUFFIX)]
    return {"topics": [{"name": n, "records": sum(monitor.topic_offsets(n) or [])} for n in names]}


async def dead_letter_topic_page(sources: ConsoleSources, topic: str) -> dict[str, Any]:
    """The records of one dead-letter topic with why they failed and whether replayed.

    Args:
        sources: What the console reads.
        topic: A dead-letter topic.
    """
    dlt = dead_letter_topic(topic)
    if sources.dead_letters is None:
        return {"topic": dlt, "letters": [], "error": "dead letters are not readable yet"}
    letters = await sources.dead_letters.list_dead_letters(dlt, limit=200)
    return {"topic": dlt, "letters": [letter.as_json() for letter in letters]}


def events_page(sources: ConsoleSources) -> dict[str, Any]:
    """The latest events handled, where they came from, and where they were stored.

    Args:
        sources: What the console reads.
    """
    recent = sources.recent_events(50) if sources.recent_events is not None else None
    return {"recent": None if recent is None else list(reversed(recent)),
            "stored_in": sources.stored_in, "traced": sources.traces is not None}  # fmt: skip


async def trace_page(sources: ConsoleSources, trace_id: str) -> dict[str, Any]:
    """One trace as a waterfall: every span under its parent, placed in time.

    Args:
        sources: What the console reads.
        trace_id: 32 hex digits.
    """
    page: dict[str, Any] = {"trace_id": trace_id, "rows": [], "total_ms": 0.0, "ui_url": None}
    if sources.traces is None:
        page["error"] = "no trace backend is configured (TRACING_UI_URL)"
        return page
    page["ui_url"] = sources.traces.trace_url(trace_id)
    trace = await sources.traces.trace(trace_id)
    if trace is None:
        page["error"] = "the backend has no such trace (yet: spans are exported in batches)"
        return page
    rows = trace_rows(trace)
    page["rows"] = rows
    page["total_ms"] = max((r.start_ms + r.duration_ms for r in rows), default=0.0) or 1.0
    page["services"] = sorted({r.service for r in rows})
    return page


async def connect_page(sources: ConsoleSources) -> dict[str, Any]:
    """Connectors with their tasks, and the stream processing applications' state.

    Args:
        sources: What the console reads.
    """
    connectors: list[Any] | None = None
    error = None
    if sources.connect is not None:
        try:
            connectors = [
                await sources.connect.status(name) for name in await sources.connect.connectors()
            ]
        except Exception as exc:  # noqa: BLE001 - shown on the page: Connect is another service
            error = f"Kafka Connect did not answer: {exc}"
    return {
        "connectors": connectors,
        "connect_error": error,
        "streams": [app.health() for app in sources.streams],
    }
