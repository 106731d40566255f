"""Scenario — a frozen leader: how long writes wait until they land on the new leader.

A leader that freezes (GC pause, hung host) is fenced by the controller after the broker session
timeout; a write in flight to it moves to the new leader once its produce request times out. So
the producer's ``request_timeout_ms`` bounds the stall: measured with Kafka's default (30 s) and
the kit's (10 s), side by side on one three-node cluster.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable

from bench.harness import Options, Report
from kafka_kit import KafkaAdmin, KafkaSettings, KafkaTemplate, NewTopic
from kafka_kit.local_kafka import LocalKafkaCluster
from kafka_kit.settings import ProducerSettings
from kafka_kit.testing import wait_until

SCENARIO = "failover"


async def leader_of(settings: KafkaSettings, topic: str, partition: int) -> int:
    """The partition's leader, once the brokers asked know one."""
    found: list[int] = []

    async def known() -> bool:
        (described,) = await KafkaAdmin(settings).describe_topics([topic])
        found[:] = [
            p["leader"]
            for p in described["partitions"]
            if p["partition"] == partition and p["leader"] >= 0
        ]
        return bool(found)

    await wait_until(known, 30, f"a leader of {topic}-{partition}")
    return found[0]


async def first_ack_after_freeze(
    cluster: LocalKafkaCluster,
    settings: KafkaSettings,
    topic: str,
    *,
    while_frozen: Callable[[int], Awaitable[None]] | None = None,
) -> float:
    """Seconds from freezing partition 0's leader to the first write acknowledged while it is
    still frozen (so by a new leader). ``while_frozen(old_leader)`` runs before it resumes."""
    leader = await leader_of(settings, topic, 0)
    acknowledged: list[float] = []
    async with KafkaTemplate(settings) as template:
        await template.send(topic, b"warm-up")

        async def keep_sending() -> None:
            while True:
                await template.send(topic, b"x")
                acknowledged.append(time.monotonic())

        sending = asyncio.create_task(keep_sending())
        await wait_until(lambda: len(acknowledged) >= 5, 30, "writes before the freeze")
        cluster.pause_node(leader)
        frozen_at = time.monotonic()
        try:
            await wait_until(
                lambda: any(t > frozen_at + 1 for t in acknowledged), 90, "a write acknowledged"
            )
            if while_frozen is not None:
                await while_frozen(leader)
        finally:
            sending.cancel()
            cluster.resume_node(leader)
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await sending
    await asyncio.to_thread(cluster.wait_until_ready, 120)
    return min(t for t in acknowledged if t > frozen_at + 1) - frozen_at


def with_request_timeout(settings: KafkaSettings, request_timeout_ms: int) -> KafkaSettings:
    """``settings`` whose producer gives up on a produce request after ``request_timeout_ms``."""
    producer = settings.producer.model_copy(update={"request_timeout_ms": request_timeout_ms})
    return settings.model_copy(update={"producer": producer})


async def run(report: Report, options: Options) -> None:
    """Freeze the leader ``options.repeats`` times per request timeout, alternating."""
    with LocalKafkaCluster(3) as cluster:
        settings = KafkaSettings(
            bootstrap_servers=cluster.bootstrap_servers,
            request_timeout_ms=30_000,
            producer=ProducerSettings(delivery_timeout_ms=60_000),
        )
        topic = f"bench-failover-{uuid.uuid4().hex[:8]}"
        await KafkaAdmin(settings).ensure_topics([NewTopic(topic, 1, 3).min_insync_replicas(2)])
        for _ in range(options.repeats):
            for timeout_ms in (30_000, 10_000):
                seconds = await first_ack_after_freeze(
                    cluster, with_request_timeout(settings, timeout_ms), topic
                )
                variant = f"first ack after the freeze, request timeout {timeout_ms // 1000} s"
                report.measurement(SCENARIO, variant, "s").runs.append(seconds)
    report.ratio(
        SCENARIO,
        "first ack after the freeze, request timeout 30 s",
        "first ack after the freeze, request timeout 10 s",
    )
