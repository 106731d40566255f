"""Consumer groups, rebalances, graceful stop, the registry's controls, replay, supervision."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from pydantic import ValidationError

from kafka_kit import kafka_listener
from kafka_kit._internal.cancellation import within
from kafka_kit.errors import RegistryStateError
from kafka_kit.listener import ContainerState
from kafka_kit.registry import ListenerRegistry
from kafka_kit.seek import PartitionRef, SeekPosition, SeekRequest
from kafka_kit.settings import KafkaSettings
from kafka_kit.testing import committed_offsets, wait_until
from tests.app_helpers import started
from tests.kafka_helpers import CrashingOnce, create_topic, group_assignment, produce

ROOT = Path(__file__).resolve().parents[2]


def _disjoint_cover(members: dict[str, set[tuple[str, int]]], topic: str, partitions: int) -> bool:
    owned = [tp for parts in members.values() for tp in parts]
    return len(owned) == len(set(owned)) == partitions and set(owned) == {
        (topic, p) for p in range(partitions)
    }


SECOND_PROCESS = """
import asyncio, sys
from kafka_kit import kafka_listener
from kafka_kit.registry import ListenerRegistry
from kafka_kit.settings import ConsumerSettings, KafkaSettings

async def main():
    registry = ListenerRegistry()

    @kafka_listener(sys.argv[2], group_id=sys.argv[3], registry=registry)
    async def other_process(value: bytes) -> None:
        pass

    settings = KafkaSettings(
        bootstrap_servers=sys.argv[1],
        client_id="second-process",
        consumer=ConsumerSettings(poll_timeout_ms=200, heartbeat_interval_ms=300),
    )
    await registry.start(settings)
    print("started", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await registry.stop()

asyncio.run(main())
"""


async def test_each_partition_has_one_consumer_and_new_members_rebalance(
    listener_settings: KafkaSettings, topic_name: str
) -> None:
    bootstrap = listener_settings.bootstrap_servers
    group = f"g-{topic_name}"
    await create_topic(bootstrap, topic_name, partitions=6)
    registry = ListenerRegistry()

    @kafka_listener(topic_name, group_id=group, concurrency=3, registry=registry)
    async def three(value: bytes) -> None:
        pass

    async with started(registry, listener_settings):
        children = registry.container("three").children

        async def members_cover(count: int) -> bool:
            members = await group_assignment(bootstrap, group)
            return len(members) == count and _disjoint_cover(members, topic_name, 6)

        await wait_until(lambda: members_cover(3), 30, "three members owning two each")
        members = await group_assignment(bootstrap, group)
        assert sorted(len(parts) for parts in members.values()) == [2, 2, 2]
        assert sorted(len(child.assignment) for child in children) == [2, 2, 2]

        # A fourth consumer in this process and a fifth in another process join the group.
        fourth = ListenerRegistry()

        @kafka_listener(topic_name, group_id=group, registry=fourth)
        async def four(value: bytes) -> None:
            pass

        async with started(fourth, listener_settings):
            # Not subprocess.Popen + readline: blocking the loop would stall our heartbeats.
            second = await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                SECOND_PROCESS,
                bootstrap,
                topic_name,
                group,
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
            try:
                assert second.stdout is not None
                line = await within(second.stdout.readline(), 60)
                assert line.strip() == b"started"
                await wait_until(lambda: members_cover(5), 60, "five members after the rebalance")
                members = await group_assignment(bootstrap, group)
                assert sorted(len(parts) for parts in members.values()) == [1, 1, 1, 1, 2]
                others = [parts for name, parts in members.items() if "second-process" in name]
                assert len(others) == 1 and others[0]  # the other process owns a partition
            finally:
                assert second.stdin is not None
                second.stdin.close()
                await within(second.wait(), 30)
        # Both left: the three consumers share the six partitions again.
        await wait_until(lambda: members_cover(3), 60, "three members again")


async def test_no_record_is_handled_twice_across_a_clean_rebalance(
    listener_settings: KafkaSettings, topic_name: str
) -> None:
    bootstrap = listener_settings.bootstrap_servers
    group = f"g-{topic_name}"
    await create_topic(bootstrap, topic_name, partitions=6)
    handled: Counter[int] = Counter()

    def registry_for(name: str) -> ListenerRegistry:
        registry = ListenerRegistry()

        @kafka_listener(topic_name, group_id=group, id=name, registry=registry, max_poll_records=20)
        async def handler(value: bytes) -> None:
            await asyncio.sleep(0.001)
            handled[int(value)] += 1

        return registry

    total = 3000

    async def keep_producing() -> None:
        for start in range(0, total, 100):
            await produce(
                bootstrap, topic_name, [str(n).encode() for n in range(start, start + 100)]
            )
            await asyncio.sleep(0.05)

    first, second = registry_for("first"), registry_for("second")
    await first.start(listener_settings)
    try:
        producing = asyncio.create_task(keep_producing())
        await wait_until(lambda: len(handled) >= 300, 30, "the first consumer at work")
        await second.start(listener_settings)  # rebalance while records flow
        await wait_until(lambda: len(handled) >= 1500, 60, "work after the rebalance")
        await first.stop()  # a clean leave: another rebalance
        await producing
        await wait_until(lambda: len(handled) == total, 60, "every record")
    finally:
        await first.stop()
        await second.stop()
    assert set(handled) == set(range(total))
    assert [n for n, times in handled.items() if times > 1] == []
    # The work really was shared.
    assert registry_for_metrics(first) > 0 and registry_for_metrics(second) > 0


def registry_for_metrics(registry: ListenerRegistry) -> int:
    (listener_id,) = registry.endpoints
    return sum(c.metrics.records_handled for c in registry.container(listener_id).children)


async def test_graceful_stop_finishes_and_commits_the_batch(
    listener_settings: KafkaSettings, topic_name: str
) -> None:
    bootstrap = listener_settings.bootstrap_servers
    group = f"g-{topic_name}"
    await create_topic(bootstrap, topic_name)
    await produce(bootstrap, topic_name, [b"x"] * 5, partition=0)
    registry = ListenerRegistry()
    handled: list[int] = []

    @kafka_listener(topic_name, group_id=group, registry=registry, max_poll_records=5)
    async def slow(offset: int) -> None:
        await asyncio.sleep(0.2)
        handled.append(offset)

    await registry.start(listener_settings)
    await wait_until(lambda: len(handled) >= 1, 30, "the batch under way")
    await registry.container("slow").stop(timeout_s=10)
    assert handled == [0, 1, 2, 3, 4]  # the whole batch, though stop came after record 0
    assert (await committed_offsets(bootstrap, group))[(topic_name, 0)] == 5
    assert registry.container("slow").state is ContainerState.STOPPED


async def test_a_handler_cancelled_by_the_stop_timeout_is_not_committed(
    listener_settings: KafkaSettings, topic_name: str
) -> None:
    bootstrap = listener_settings.bootstrap_servers
    group = f"g-{topic_name}"
    await create_topic(bootstrap, topic_name)
    await produce(bootstrap, topic_name, [b"x"] * 5, partition=0)
    registry = ListenerRegistry()
    handled: list[int] = []
    cancelled: list[int] = []

    @kafka_listener(topic_name, group_id=group, registry=registry, max_poll_records=5)
    async def stuck(offset: int) -> None:
        if offset == 2:
            try:
                await asyncio.Event().wait()  # never finishes by itself
            except asyncio.CancelledError:
                cancelled.append(offset)
                raise
        handled.append(offset)

    await registry.start(listener_settings)
    await wait_until(lambda: handled == [0, 1], 30, "records before the stuck one")
    started_stop = time.monotonic()
    await registry.container("stuck").stop(timeout_s=0.5)
    assert time.monotonic() - started_stop < 5
    assert cancelled == [2]
    # 0 and 1 are committed; 2 was cancelled, so the group will read it again.
    assert (await committed_offsets(bootstrap, group))[(topic_name, 0)] == 2

    redelivered: list[int] = []
    again = ListenerRegistry()

    @kafka_listener(topic_name, group_id=group, registry=again)
    async def resumed(offset: int) -> None:
        redelivered.append(offset)

    async with started(again, listener_settings):
        await wait_until(lambda: redelivered == [2, 3, 4], 30, "redelivery from offset 2")


async def test_registry_status_pause_resume_stop_start(
    listener_settings: KafkaSettings, topic_name: str
) -> None:
    bootstrap = listener_settings.bootstrap_servers
    group = f"g-{topic_name}"
    await create_topic(bootstrap, topic_name, partitions=2)
    registry = ListenerRegistry()
    handled: list[bytes] = []

    @kafka_listener(topic_name, group_id=group, id="orders", registry=registry)
    async def handler(value: bytes) -> None:
        handled.append(value)

    async with started(registry, listener_settings):
        container = registry.container("orders")
        child = container.children[0]
        await wait_until(lambda: len(child.assignment) == 2, 30, "assignment")
        await produce(bootstrap, topic_name, [b"a", b"b", b"c"], partition=0)
        await wait_until(lambda: len(handled) == 3, 30, "three records")

        async def status_settled() -> bool:
            status = await container.status()
            p0 = next(p for p in status.containers[0].partitions if p.partition == 0)
            return p0.committed == 3

        await wait_until(status_settled, 10, "the commit to show")
        status = await container.status()
        assert (status.id, status.group_id, status.state, status.topics) == (
            "orders",
            group,
            "running",
            [topic_name],
        )
        p0, p1 = status.containers[0].partitions
        assert (p0.partition, p0.position, p0.committed, p0.end_offset, p0.lag) == (0, 3, 3, 3, 0)
        assert (p1.partition, p1.end_offset, p1.lag) == (1, 0, 0)
        assert status.records_lag_max == 0
        assert status.containers[0].metrics.records_handled == 3

        registry.pause("orders")
        assert container.state is ContainerState.PAUSED
        polls = child.metrics.polls
        await produce(bootstrap, topic_name, [b"d", b"e"], partition=1)
        await wait_until(lambda: child.metrics.polls >= polls + 5, 30, "polls while paused")
        assert len(handled) == 3  # it polls (stays in the group) but fetches nothing
        paused_status = await container.status()
        assert all(p.paused for p in paused_status.containers[0].partitions)
        assert paused_status.records_lag_max == 2
        registry.resume("orders")
        await wait_until(lambda: len(handled) == 5, 30, "records after resume")
        assert registry.healthy()

        await registry.stop_listener("orders")
        assert container.state is ContainerState.STOPPED
        assert registry.healthy()  # stopped on purpose is not a failure
        await produce(bootstrap, topic_name, [b"f"], partition=0)
        await registry.start_listener("orders")
        await wait_until(lambda: handled[-1:] == [b"f"], 30, "a record after restart")
        assert handled == [b"a", b"b", b"c", b"d", b"e", b"f"]


async def test_seek_and_replay_from_offset_zero(
    listener_settings: KafkaSettings, topic_name: str
) -> None:
    bootstrap = listener_settings.bootstrap_servers
    await create_topic(bootstrap, topic_name)
    base = 1_750_000_000_000
    values = [json.dumps({"n": n}).encode() for n in range(6)]
    await produce(
        bootstrap,
        topic_name,
        values,
        partition=0,
        timestamps=[base + 1000 * n for n in range(6)],
    )
    registry = ListenerRegistry()
    first: list[tuple[int, bytes]] = []
    replica: list[tuple[int, bytes]] = []

    @kafka_listener(topic_name, group_id=f"a-{topic_name}", id="reader", registry=registry)
    async def reader(offset: int, value: bytes) -> None:
        first.append((offset, value))

    @kafka_listener(topic_name, group_id=f"b-{topic_name}", id="replica", registry=registry)
    async def second_group(offset: int, value: bytes) -> None:
        replica.append((offset, value))

    async with started(registry, listener_settings):
        await wait_until(lambda: len(first) == 6 and len(replica) == 6, 30, "both groups")
        # Reading removed nothing: a second group got the very same records from offset 0.
        assert replica == first == list(enumerate(values))

        await registry.seek("reader", SeekRequest(position=SeekPosition.BEGINNING))
        await wait_until(lambda: len(first) >= 12, 30, "a replay from the beginning")
        assert first[6:] == first[:6]

        await registry.seek(
            "reader",
            SeekRequest(
                position=SeekPosition.OFFSET,
                offset=4,
                partitions=[PartitionRef(topic=topic_name, partition=0)],
            ),
        )
        await wait_until(lambda: len(first) >= 14, 30, "a replay from offset 4")
        assert [offset for offset, _ in first[12:]] == [4, 5], first

        await registry.seek(
            "reader", SeekRequest(position=SeekPosition.TIMESTAMP, timestamp=base + 2500)
        )
        await wait_until(lambda: len(first) >= 17, 30, "a replay from a timestamp")
        assert [offset for offset, _ in first[14:]] == [3, 4, 5], first

        # A seek completes once the poll loop applied it: "the end" is taken before the produce.
        await registry.seek("reader", SeekRequest(position=SeekPosition.END))
        await produce(bootstrap, topic_name, [b"new"], partition=0)
        await wait_until(lambda: first[-1] == (6, b"new"), 30, "only the new record")
        assert len(first) == 18


async def test_a_crashed_poll_loop_turns_health_red_and_restarts(
    listener_settings: KafkaSettings, topic_name: str
) -> None:
    bootstrap = listener_settings.bootstrap_servers
    await create_topic(bootstrap, topic_name)
    registry = ListenerRegistry()
    handled: list[bytes] = []

    @kafka_listener(
        topic_name,
        group_id=f"g-{topic_name}",
        id="fragile",
        error_handler=CrashingOnce(),
        registry=registry,
    )
    async def handler(value: bytes) -> None:
        if value == b"bad":
            raise ValueError("bad value")
        handled.append(value)

    async with started(registry, listener_settings):
        child = registry.container("fragile").children[0]
        await produce(bootstrap, topic_name, [b"before"])
        await wait_until(lambda: handled == [b"before"], 30, "the first record")
        # The error handler raises: the poll loop dies.
        await produce(bootstrap, topic_name, [b"bad"])
        await wait_until(lambda: child.state is ContainerState.FAILED, 30, "the crash")
        assert not registry.healthy()
        assert registry.unhealthy() == {
            "fragile": "failed: RuntimeError('the error handler itself failed')"
        }
        status = await registry.container("fragile").status()
        assert status.state == "failed" and status.containers[0].error
        # Restarted with back-off, with a new consumer, in the same group.
        await wait_until(lambda: child.state is ContainerState.RUNNING, 30, "the restart")
        assert child.metrics.restarts == 1
        assert registry.healthy()
        await produce(bootstrap, topic_name, [b"after"])
        await wait_until(lambda: handled == [b"before", b"after"], 30, "work after the restart")


async def test_starting_a_running_registry_is_refused_and_orphans_nothing(
    listener_settings: KafkaSettings, topic_name: str
) -> None:
    bootstrap = listener_settings.bootstrap_servers
    await create_topic(bootstrap, topic_name)
    registry = ListenerRegistry()
    group = f"g-{topic_name}"

    @kafka_listener(topic_name, group_id=group, registry=registry)
    async def handler(value: bytes) -> None:
        pass

    await registry.start(listener_settings)
    try:
        await wait_until(lambda: _members(bootstrap, group, 1), 30, "the listener in its group")
        with pytest.raises(RegistryStateError, match="already running"):
            await registry.start(listener_settings)
    finally:
        await registry.stop()
    await wait_until(lambda: _members(bootstrap, group, 0), 30, "no member left in the group")


async def _members(bootstrap: str, group: str, count: int) -> bool:
    return len(await group_assignment(bootstrap, group)) == count


@pytest.mark.parametrize(
    "body",
    [
        {"position": "offset", "offset": 2**63},
        {"position": "timestamp", "timestamp": 2**63},
        {"position": "offset", "offset": -1},
    ],
)
def test_seeks_beyond_what_kafka_can_hold_are_refused(body: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        SeekRequest.model_validate(body)


async def test_a_seek_past_the_end_waits_at_the_end(
    listener_settings: KafkaSettings, topic_name: str
) -> None:
    bootstrap = listener_settings.bootstrap_servers
    await create_topic(bootstrap, topic_name)
    await produce(bootstrap, topic_name, [b"0", b"1", b"2"])
    registry = ListenerRegistry()
    seen: list[int] = []

    @kafka_listener(topic_name, group_id=f"g-{topic_name}", registry=registry)
    async def reader(offset: int) -> None:
        seen.append(offset)

    async with started(registry, listener_settings):
        await wait_until(lambda: seen == [0, 1, 2], 30, "the three records")
        # Past the log end: clamped to the end, not Kafka's reset policy (which would re-read
        # the partition from its earliest offset).
        await registry.seek(reader.__name__, SeekRequest(position="offset", offset=2**63 - 1))
        await produce(bootstrap, topic_name, [b"3"])
        await wait_until(lambda: seen[-1] == 3, 30, "the new record")
    assert seen == [0, 1, 2, 3]
