"""A Spring Kafka 4.x share consumer and the kit's members in one share group (KIP-932)."""

from __future__ import annotations

import json
import threading
from typing import Any

from kafka_kit import kafka_listener
from kafka_kit.registry import ListenerRegistry
from kafka_kit.settings import KafkaSettings
from kafka_kit.share import ShareGroupAdmin
from kafka_kit.testing import wait_until
from tests.app_helpers import started
from tests.kafka_helpers import create_topic, produce
from tests.spring import SHARE_PEER, SpringPeer


def _lines(process: Any, into: list[dict[str, Any]]) -> threading.Thread:
    """Collect the peer's JSON lines while it runs."""

    def read() -> None:
        for line in process.stdout:
            if line.startswith("{"):
                into.append(json.loads(line))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return reader


async def test_spring_and_python_members_split_one_share_group_with_nothing_lost_or_doubled(
    listener_settings: KafkaSettings, topic_name: str, report: Any
) -> None:
    bootstrap = listener_settings.bootstrap_servers
    group = f"share-{topic_name}"
    total = 600
    await create_topic(bootstrap, topic_name, partitions=2)
    registry = ListenerRegistry()
    by_python: list[tuple[int, int]] = []

    @kafka_listener(
        topic_name,
        share_group=group,
        concurrency=2,
        max_poll_records=5,
        share_acquire_mode="record_limit",
        registry=registry,
    )
    async def python_side(partition: int, offset: int) -> None:
        by_python.append((partition, offset))

    spring_lines: list[dict[str, Any]] = []
    admin = ShareGroupAdmin(listener_settings)
    # The kit's listener starts first: it sets the group's share.auto.offset.reset (earliest).
    async with started(registry, listener_settings):
        spring = SpringPeer(bootstrap, SHARE_PEER).start("share-listen", topic_name, group, "2")
        try:
            reader = _lines(spring, spring_lines)

            async def four_members() -> bool:
                return len((await admin.describe(group)).members) == 4

            await wait_until(four_members, timeout_s=120, what="2 Spring + 2 Python members")
            for partition in (0, 1):
                values = [f"job-{i}".encode() for i in range(total // 2)]
                await produce(bootstrap, topic_name, values, partition=partition)

            def by_spring() -> list[tuple[int, int]]:
                return [(x["partition"], x["offset"]) for x in spring_lines if "offset" in x]

            every = {(p, o) for p in (0, 1) for o in range(total // 2)}
            await wait_until(
                lambda: set(by_python) | set(by_spring()) == every,
                timeout_s=120,
                what=lambda: f"all {total} records ({len(by_python)} + {len(by_spring())})",
            )

            async def settled() -> bool:
                description = await admin.describe(group)
                return bool(description.partitions) and description.lag == 0

            await wait_until(settled, what="every record accepted (lag 0)")
        finally:
            assert spring.stdin is not None
            spring.stdin.close()
            spring.wait(timeout=60)
    reader.join(timeout=10)
    spring_side = by_spring()
    report({"python": len(by_python), "spring": len(spring_side)})
    assert by_python and spring_side, "both kinds of member got work"
    # Nothing accepted twice in the normal case: each record went to exactly one member.
    assert len(by_python) + len(spring_side) == total
    assert not set(by_python) & set(spring_side)
