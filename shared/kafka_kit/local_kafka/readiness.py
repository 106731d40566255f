"""Ask a Kafka cluster, over its own protocol, whether every broker has registered."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient

from kafka_kit._internal.cancellation import within

__all__ = ["ClusterDescription", "describe_cluster", "describe_cluster_sync"]


@dataclass(frozen=True)
class ClusterDescription:
    """What a broker's metadata answer says about the cluster."""

    cluster_id: str | None
    controller_id: int
    broker_ids: tuple[int, ...]
    group_coordinator_ready: bool = False


READINESS_GROUP = "kafka-local-readiness"
"""Asking for this group's coordinator makes the broker create ``__consumer_offsets``."""


async def describe_cluster(
    bootstrap_servers: str, timeout_s: float = 5.0, client: Mapping[str, Any] | None = None
) -> ClusterDescription:
    """Return the brokers the cluster's metadata lists (raises when no broker answers).

    Also asks for a group coordinator, so that a ready cluster serves consumer groups at once
    (the first request creates ``__consumer_offsets``).
    """
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers,
        request_timeout_ms=int(timeout_s * 1000),
        **(client or {}),  # security, for a secured cluster
    )
    # aiokafka logs every refused bootstrap connection at ERROR; while we poll that is expected.
    quiet = logging.getLogger("aiokafka")
    previous = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:
        await within(admin.start(), timeout_s)
        answer = await within(admin.describe_cluster(), timeout_s)
        try:
            await within(admin.find_coordinator(READINESS_GROUP), timeout_s)
            coordinator_ready = True
        except Exception:  # noqa: BLE001 - not yet: the offsets topic is being created
            coordinator_ready = False
    finally:
        quiet.setLevel(previous)
        with contextlib.suppress(Exception):
            await within(admin.close(), timeout_s)
    return ClusterDescription(
        cluster_id=answer.get("cluster_id"),
        controller_id=answer.get("controller_id", -1),
        broker_ids=tuple(sorted(b["node_id"] for b in answer.get("brokers", []))),
        group_coordinator_ready=coordinator_ready,
    )


def describe_cluster_sync(
    bootstrap_servers: str, timeout_s: float = 5.0, client: Mapping[str, Any] | None = None
) -> ClusterDescription:
    """Blocking form of :func:`describe_cluster`, safe to call with or without a running loop."""

    def describe() -> ClusterDescription:
        return asyncio.run(describe_cluster(bootstrap_servers, timeout_s, client))

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return describe()
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(describe).result()
