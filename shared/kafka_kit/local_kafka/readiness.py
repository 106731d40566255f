"""Ask a Kafka cluster, over its own protocol, whether every broker has registered."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient

from kafka_kit._internal.cancellation import within
from kafka_kit.errors import KafkaLaunchError
from kafka_kit.local_kafka.node import KafkaNode

__all__ = ["ClusterDescription", "describe_cluster", "describe_cluster_sync", "wait_for_nodes"]


@dataclass(frozen=True)
class ClusterDescription:
    """What a broker's metadata answer says about the cluster."""

    cluster_id: str | None
    """The cluster's id."""
    controller_id: int
    """The active controller's node id (``-1``: none yet)."""
    broker_ids: tuple[int, ...]
    """Every registered broker."""
    group_coordinator_ready: bool = False
    """A group coordinator answers (``__consumer_offsets`` is ready)."""


READINESS_GROUP = "kafka-local-readiness"
"""Asking for this group's coordinator makes the broker create ``__consumer_offsets``."""


async def describe_cluster(
    bootstrap_servers: str, timeout_s: float = 5.0, client: Mapping[str, Any] | None = None
) -> ClusterDescription:
    """Return the brokers the cluster's metadata lists (raises when no broker answers).

    Also asks for a group coordinator, so that a ready cluster serves consumer groups at once
    (the first request creates ``__consumer_offsets``).

    Args:
        bootstrap_servers: The cluster.
        timeout_s: How long a broker has to answer.
        client: More client arguments (security).
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
    """Blocking form of :func:`describe_cluster`, safe to call with or without a running loop.

    Args:
        bootstrap_servers: The cluster.
        timeout_s: How long a broker has to answer.
        client: More client arguments (security).
    """

    def describe() -> ClusterDescription:
        return asyncio.run(describe_cluster(bootstrap_servers, timeout_s, client))

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return describe()
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(describe).result()


def wait_for_nodes(
    nodes: Sequence[KafkaNode],
    bootstrap_servers: str,
    client: Mapping[str, Any] | None,
    timeout_s: float,
) -> None:
    """Block until every running node is registered and metadata answers, or raise.

    A node that exits meanwhile, or a cluster not ready in time, raises
    :class:`~kafka_kit.errors.KafkaLaunchError` with the end of each node's log.

    Args:
        nodes: The cluster's nodes; those running now must register.
        bootstrap_servers: Where to ask.
        client: More admin client arguments (security).
        timeout_s: How long to wait.
    """
    deadline = time.monotonic() + timeout_s
    expected = tuple(sorted(n.node_id for n in nodes if n.is_running()))
    last_seen: object = "no answer yet"
    while True:
        for node in nodes:
            if node.node_id in expected and not node.is_running():
                raise KafkaLaunchError(
                    f"Kafka node {node.node_id} exited during start-up "
                    f"(log {node.log_file}):\n{node.log_tail()}"
                )
        try:
            seen = describe_cluster_sync(bootstrap_servers, timeout_s=5.0, client=client)
            if (
                seen.broker_ids == expected
                and seen.controller_id >= 0
                and seen.group_coordinator_ready
            ):
                return
            last_seen = seen
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready yet"
            last_seen = exc
        if time.monotonic() >= deadline:
            tails = "\n".join(
                f"--- node {n.node_id} ({n.log_file}) ---\n{n.log_tail()}" for n in nodes
            )
            raise KafkaLaunchError(
                f"Kafka was not ready within {timeout_s:.0f} s: expected brokers "
                f"{list(expected)}, last answer: {last_seen!r}\n{tails}"
            )
        time.sleep(0.25)
