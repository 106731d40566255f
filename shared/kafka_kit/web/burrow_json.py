"""Burrow's v3 HTTP JSON shapes, field for field, so Burrow clients and dashboards can read them."""

from __future__ import annotations

import socket
from typing import Any

from kafka_kit.lag.evaluator import CommitSample, GroupStatus, PartitionStatus, Status
from kafka_kit.lag.monitor import ClusterLagMonitor

__all__ = [
    "answer",
    "cluster_module_json",
    "consumer_detail_json",
    "error",
    "group_json",
    "offset_json",
    "partition_json",
    "request_info",
]


_HOST = socket.gethostname()


def request_info(path: str) -> dict[str, str]:
    """Burrow's ``request`` object: the URL asked for and the answering host.

    Args:
        path: The request's path.
    """
    return {"url": path, "host": _HOST}


def answer(path: str, message: str, **fields: Any) -> dict[str, Any]:
    """A successful Burrow response.

    Args:
        path: The request's path.
        message: Burrow's ``message``.
        fields: The answer's own fields.
    """
    return {"error": False, "message": message, **fields, "request": request_info(path)}


def error(path: str, message: str) -> dict[str, Any]:
    """A Burrow error body (sent with a 404).

    Args:
        path: The request's path.
        message: What went wrong.
    """
    return {"error": True, "message": message, "request": request_info(path)}


def offset_json(sample: CommitSample | None) -> dict[str, int | None] | None:
    """A ``ConsumerOffset``: offset, commit timestamp, when it was seen, lag then.

    Args:
        sample: A commit of the window (``None``: an empty slot).
    """
    if sample is None:
        return None
    return {
        "offset": sample.offset,
        "timestamp": sample.timestamp,
        "observedAt": sample.observed_at,
        "lag": sample.lag,
    }


def partition_json(status: PartitionStatus) -> dict[str, Any]:
    """A ``PartitionStatus``.

    Args:
        status: The partition's evaluation.
    """
    return {
        "topic": status.topic,
        "partition": status.partition,
        "owner": status.owner,
        "client_id": status.client_id,
        "status": status.status.name,
        "start": offset_json(status.start),
        "end": offset_json(status.end),
        "current_lag": status.current_lag,
        "complete": status.complete,
    }


def group_json(status: GroupStatus, *, all_partitions: bool) -> dict[str, Any]:
    """A ``ConsumerGroupStatus``; ``/status`` lists only partitions that are not OK.

    Args:
        status: The group's evaluation.
        all_partitions: List every partition (``/lag``), not only those not OK (``/status``).
    """
    shown = [
        partition_json(p) for p in status.partitions if all_partitions or p.status is not Status.OK
    ]
    return {
        "cluster": status.cluster,
        "group": status.group,
        "status": status.status.name,
        "complete": status.complete,
        "partitions": shown,
        "partition_count": status.partition_count,
        "maxlag": partition_json(status.maxlag) if status.maxlag else None,
        "totallag": status.totallag,
    }


def consumer_detail_json(monitor: ClusterLagMonitor, group: str) -> dict[str, list[dict[str, Any]]]:
    """``ConsumerTopics``: per topic, a list indexed by partition of its commit window.

    A window is ``window`` slots long, empty ones (``null``) first; a partition the group has
    never committed to nor consumed from shows ``[]`` (Burrow's shapes, both).

    Args:
        monitor: The watched cluster.
        group: The consumer group.
    """
    store = monitor.store
    topics: dict[str, list[dict[str, Any]]] = {}
    for topic, partition, entry in store.partitions(group):
        topics.setdefault(topic, []).append(
            {
                "offsets": [offset_json(s) for s in store.slots(group, topic, partition)],
                "owner": entry.owner,
                "client_id": entry.client_id,
                "current-lag": store.current_lag(group, topic, partition),
            }
        )
    return topics


def cluster_module_json(monitor: ClusterLagMonitor) -> dict[str, Any]:
    """The ``cluster`` module detail Burrow shows, plus how watching it goes (``state``).

    Args:
        monitor: The watched cluster.
    """
    return {
        "class-name": "kafka",
        "servers": monitor.settings.bootstrap_servers.split(","),
        "client-profile": {
            "name": "default",
            "client-id": monitor.settings.client_id,
            "kafka-version": "",
            "tls": None,
            "sasl": None,
        },
        "topic-refresh": int(monitor.lag.offset_refresh_s),
        "offset-refresh": int(monitor.lag.offset_refresh_s),
        # Not in Burrow's JSON: whether the cluster answers, and if not, why.
        "state": monitor.state,
        "last-error": monitor.last_error,
    }
