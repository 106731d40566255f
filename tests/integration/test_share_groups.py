"""Share groups (KIP-932) against the real broker, side by side with consumer groups."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Annotated

import pytest

from consumer_service.app import create_app as create_consumer_app
from consumer_service.settings import EventLogSettings, EventStoreSettings
from event_contract.events import EventDto, EventsTopicSettings
from kafka_kit import kafka_listener
from kafka_kit.errors import BatchListenerFailedError, ListenerDeclarationError
from kafka_kit.headers import DLT_EXCEPTION_FQCN, DLT_ORIGINAL_TOPIC
from kafka_kit.listener.markers import DeliveryCount, RecordOffset
from kafka_kit.recovery.back_off import FixedBackOff
from kafka_kit.recovery.dead_letter import DeadLetterPublishingRecoverer
from kafka_kit.recovery.error_handler import DefaultErrorHandler
from kafka_kit.registry import ListenerRegistry
from kafka_kit.settings import KafkaSettings
from kafka_kit.share import ShareAcknowledgment, ShareGroupAdmin
from kafka_kit.share.container import ShareListenerContainer
from kafka_kit.template import KafkaTemplate
from kafka_kit.testing import read_records, wait_until
from tests.app_helpers import running, started
from tests.kafka_helpers import create_topic, produce

ROOT = Path(__file__).resolve().parents[2]


def _handled(container: object) -> list[int]:
    """Records handled by each member (share) or child container (consumer group)."""
    if isinstance(container, ShareListenerContainer):
        return [m.metrics.records_handled for m in container.members]
    return [c.metrics.records_handled for c in container.children]  # type: ignore[attr-defined]


def _assigned(container: object) -> list[object]:
    """The members (share) or children (consumer group) that hold their assignment: every share
    member; the two consumers owning a partition once the group is stable."""
    if isinstance(container, ShareListenerContainer):
        return [m for m in container.members if m.consumer and m.consumer.assignment]
    children = container.children  # type: ignore[attr-defined]
    owned = [tp for c in children for tp in c.assignment]
    stable = len(owned) == len(set(owned)) == 2 and all(
        c.state.value == "running" for c in children
    )
    return list(children) if stable else []


async def test_six_share_members_on_two_partitions_all_get_work_where_a_group_keeps_four_idle(
    listener_settings: KafkaSettings, topic_name: str, report: object
) -> None:
    bootstrap = listener_settings.bootstrap_servers
    await create_topic(bootstrap, topic_name, partitions=2)
    registry = ListenerRegistry()
    by_share: Counter[tuple[int, int]] = Counter()
    by_group: Counter[tuple[int, int]] = Counter()

    # Five records per fetch, exactly (RabbitMQ's prefetch): no member takes the whole topic.
    @kafka_listener(
        topic_name,
        share_group=f"share-{topic_name}",
        concurrency=6,
        max_poll_records=5,
        share_acquire_mode="record_limit",
        registry=registry,
    )
    async def shared(partition: int, offset: Annotated[int, RecordOffset]) -> None:
        by_share[(partition, offset)] += 1
        await asyncio.sleep(0.005)

    @kafka_listener(
        topic_name,
        group_id=f"group-{topic_name}",
        concurrency=6,
        max_poll_records=5,
        auto_offset_reset="earliest",
        registry=registry,
    )
    async def grouped(partition: int, offset: Annotated[int, RecordOffset]) -> None:
        by_group[(partition, offset)] += 1
        await asyncio.sleep(0.005)

    async with started(registry, listener_settings):
        # Work arrives once both groups settled: a rebalance would move partitions mid-way.
        groups = [registry.container("shared"), registry.container("grouped")]
        await wait_until(
            lambda: all(len(_assigned(g)) == 6 for g in groups),
            what="six members assigned in each group",
        )
        for partition in (0, 1):
            jobs = [f"job-{i}".encode() for i in range(240)]
            await produce(bootstrap, topic_name, jobs, partition=partition)
        await wait_until(
            lambda: len(by_share) == 480 and len(by_group) == 480,
            timeout_s=90,
            what=lambda: f"all 480 records handled (share {len(by_share)}, group {len(by_group)})",
        )
        share_members = _handled(registry.container("shared"))
        group_members = _handled(registry.container("grouped"))
        description = await ShareGroupAdmin(listener_settings).describe(f"share-{topic_name}")
        status = await registry.container("shared").status()

    report({"share_members": share_members, "group_members": group_members})  # type: ignore[operator]
    assert len(share_members) == 6 and all(n > 0 for n in share_members), share_members
    assert sorted(n > 0 for n in group_members) == [False] * 4 + [True] * 2, group_members
    # Nothing lost, nothing handled twice in the normal case, in either kind of group.
    assert set(by_share.values()) == {1} and set(by_group.values()) == {1}
    # The broker's view: six members, every one assigned a partition, each partition shared
    # (the "simple" assignor spreads members over partitions; a consumer group cannot).
    assert len(description.members) == 6 and all(m.partitions for m in description.members)
    sharing = Counter(p for m in description.members for p in m.partitions)
    assert sorted(sharing) == [f"{topic_name}-0", f"{topic_name}-1"]
    assert min(sharing.values()) >= 2, sharing
    assert status.share_group and len(status.containers) == 6
    assert all(c.share is not None and c.share.member_id for c in status.containers)


async def test_a_poison_record_is_redelivered_then_dead_lettered_while_others_flow(
    listener_settings: KafkaSettings, topic_name: str
) -> None:
    bootstrap = listener_settings.bootstrap_servers
    await create_topic(bootstrap, topic_name, partitions=1)
    values = [b"poison" if i == 3 else f"ok-{i}".encode() for i in range(40)]
    await produce(bootstrap, topic_name, values)
    registry = ListenerRegistry()
    deliveries: list[tuple[int, float]] = []
    handled: dict[bytes, float] = {}
    template = KafkaTemplate(listener_settings)
    await template.start()
    # A second between deliveries: the back-off holds the record, not the member.
    handler = DefaultErrorHandler(
        DeadLetterPublishingRecoverer(template), FixedBackOff(interval_s=1.0, max_retries=2)
    )

    @kafka_listener(
        topic_name,
        share_group=f"share-{topic_name}",
        max_deliveries=3,
        error_handler=handler,
        max_poll_records=5,
        share_acquire_mode="record_limit",
        registry=registry,
    )
    async def work(value: bytes, attempt: Annotated[int, DeliveryCount]) -> None:
        if value == b"poison":
            deliveries.append((attempt, time.monotonic()))
            raise ValueError("cannot process this one")
        handled[value] = time.monotonic()

    try:
        async with started(registry, listener_settings):
            dead = await read_records(bootstrap, f"{topic_name}-dlt", 1, timeout_s=60)
            await wait_until(lambda: len(handled) == 39, what="the 39 good records handled")
            metrics = registry.container("work").members[0].metrics  # type: ignore[union-attr]
            await wait_until(
                lambda: metrics.records_rejected == 1, what="the poison record rejected"
            )
    finally:
        await template.stop()
    assert [attempt for attempt, _ in deliveries] == [1, 2, 3]
    (letter,) = dead
    headers = dict(letter.headers)
    assert letter.value == b"poison"
    assert headers[DLT_ORIGINAL_TOPIC] == topic_name.encode()
    assert headers[DLT_EXCEPTION_FQCN] == b"builtins.ValueError"
    assert metrics.records_released == 2 and metrics.dead_lettered == 1
    # The others flowed during the poison's back-offs: all were done before its last delivery.
    assert max(handled.values()) < deliveries[-1][1]


async def test_explicit_acknowledgments_release_reject_and_accept(
    listener_settings: KafkaSettings, topic_name: str
) -> None:
    bootstrap = listener_settings.bootstrap_servers
    await create_topic(bootstrap, topic_name, partitions=1)
    await produce(bootstrap, topic_name, [b"again", b"never", b"fine"])
    registry = ListenerRegistry()
    seen: list[tuple[bytes, int]] = []

    @kafka_listener(topic_name, share_group=f"share-{topic_name}", registry=registry)
    async def careful(value: bytes, ack: ShareAcknowledgment, delivery_count: int) -> None:
        seen.append((value, delivery_count))
        if value == b"again" and delivery_count == 1:
            ack.release()
        elif value == b"never":
            ack.reject()
        else:
            ack.accept()

    group = f"share-{topic_name}"
    async with started(registry, listener_settings):
        await wait_until(lambda: (b"again", 2) in seen and (b"fine", 1) in seen)
        admin = ShareGroupAdmin(listener_settings)

        # Kafka's lag for a share group counts records not settled: released ones count.
        await wait_until(lambda: _lag_zero(admin, group), what="all three settled, lag 0")
    assert sorted(seen) == [(b"again", 1), (b"again", 2), (b"fine", 1), (b"never", 1)]


async def test_admin_describes_resets_and_deletes_a_share_group(
    listener_settings: KafkaSettings, topic_name: str
) -> None:
    bootstrap = listener_settings.bootstrap_servers
    group = f"share-{topic_name}"
    await create_topic(bootstrap, topic_name, partitions=2)
    await produce(bootstrap, topic_name, [b"a", b"b", b"c"], partition=0)
    registry = ListenerRegistry()
    got: list[bytes] = []

    @kafka_listener(topic_name, share_group=group, registry=registry)
    async def reader(value: bytes) -> None:
        got.append(value)

    admin = ShareGroupAdmin(listener_settings)
    async with started(registry, listener_settings):
        await wait_until(lambda: len(got) == 3)
        await wait_until(
            lambda: _lag_zero(admin, group), what="the group's lag at zero once all are accepted"
        )
    # Replay: with no members, the start offsets go back to the beginning.
    await admin.reset(group, "earliest")
    rows = (await admin.describe(group)).partitions
    assert [(r.partition, r.start_offset) for r in rows if r.partition == 0] == [(0, 0)]
    async with started(registry, listener_settings):
        await wait_until(lambda: len(got) == 6, what="the three records read again")
    assert sorted(got) == [b"a", b"a", b"b", b"b", b"c", b"c"]
    await admin.delete(group)
    description = await admin.describe(group)
    assert description.state == "Dead" and description.members == []


async def _lag_zero(admin: ShareGroupAdmin, group: str) -> bool:
    description = await admin.describe(group)
    return bool(description.partitions) and description.lag == 0


async def test_a_batch_share_listener_accepts_all_but_the_record_that_failed(
    listener_settings: KafkaSettings, topic_name: str
) -> None:
    bootstrap = listener_settings.bootstrap_servers
    await create_topic(bootstrap, topic_name, partitions=1)
    await produce(bootstrap, topic_name, [b"poison" if i == 7 else b"%d" % i for i in range(20)])
    registry = ListenerRegistry()
    seen: list[bytes] = []
    batches: list[list[int]] = []

    @kafka_listener(
        topic_name,
        share_group=f"share-{topic_name}",
        batch=True,
        max_deliveries=2,
        registry=registry,
    )
    async def batchy(values: list[bytes], offsets: list[int], delivery_counts: list[int]) -> None:
        batches.append(delivery_counts)
        for index, value in enumerate(values):
            if value == b"poison":
                raise BatchListenerFailedError(index, ValueError("not this one"))
            seen.append(value)

    async with started(registry, listener_settings):
        (letter,) = await read_records(bootstrap, f"{topic_name}-dlt", 1, timeout_s=60)
        await wait_until(lambda: len(seen) == 19, what="the 19 good records handled")
    # The 7 before it accepted, the 12 after it handed over again in the same poll; only the
    # poison came back (its second delivery), alone, then went to the dead-letter topic.
    assert letter.value == b"poison"
    assert sorted(seen, key=int) == [b"%d" % i for i in range(20) if i != 7] == seen
    assert batches[-1] == [2]


def test_share_listeners_refuse_what_does_not_apply() -> None:
    registry = ListenerRegistry()
    try:

        @kafka_listener("t", share_group="g", transactional=True, registry=registry)
        async def in_a_transaction(value: bytes) -> None:
            pass

    except ListenerDeclarationError as exc:
        assert "transactional" in str(exc)
    else:
        raise AssertionError("a transactional share listener was accepted")
    try:

        @kafka_listener("t", group_id="g", registry=registry)
        async def not_shared(value: bytes, ack: ShareAcknowledgment) -> None:
            pass

    except ListenerDeclarationError as exc:
        assert "share_group" in str(exc)
    else:
        raise AssertionError("a consumer-group listener took a ShareAcknowledgment")


MEMBER_PROCESS = """
import asyncio, sys
from kafka_kit import kafka_listener
from kafka_kit.registry import ListenerRegistry
from kafka_kit.settings import ConsumerSettings, KafkaSettings

async def main():
    registry = ListenerRegistry()

    @kafka_listener(sys.argv[2], share_group=sys.argv[3], max_poll_records=20,
                    record_lock_duration_ms=2000, registry=registry)
    async def doomed(value: bytes, offset: int, partition: int) -> None:
        print(f"{partition}:{offset}", flush=True)
        await asyncio.sleep(0.05)

    settings = KafkaSettings(bootstrap_servers=sys.argv[1], client_id="doomed",
                             consumer=ConsumerSettings(poll_timeout_ms=200))
    await registry.start(settings)
    await asyncio.Event().wait()

asyncio.run(main())
"""


async def test_a_member_killed_mid_work_loses_nothing(
    listener_settings: KafkaSettings, topic_name: str, tmp_path: Path
) -> None:
    bootstrap = listener_settings.bootstrap_servers
    group = f"share-{topic_name}"
    await create_topic(bootstrap, topic_name, partitions=2)
    total = 400
    await produce(bootstrap, topic_name, [f"{i}".encode() for i in range(total // 2)], partition=0)
    await produce(bootstrap, topic_name, [f"{i}".encode() for i in range(total // 2)], partition=1)
    out = (tmp_path / "doomed.out").open("w")
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'shared'}{os.pathsep}{ROOT}"}
    doomed = await asyncio.create_subprocess_exec(
        sys.executable, "-c", MEMBER_PROCESS, bootstrap, topic_name, group, stdout=out, env=env
    )
    try:
        await wait_until(
            lambda: len((tmp_path / "doomed.out").read_text().split()) >= 30,
            timeout_s=60,
            what="the doomed member handling records",
        )
    finally:
        doomed.send_signal(signal.SIGKILL)  # kill -9: no goodbye, no acknowledgements
        await doomed.wait()
        out.close()
    by_doomed = set((tmp_path / "doomed.out").read_text().split())
    registry = ListenerRegistry()
    by_survivor: set[str] = set()

    @kafka_listener(topic_name, share_group=group, concurrency=2, registry=registry)
    async def survivor(offset: int, partition: int) -> None:
        by_survivor.add(f"{partition}:{offset}")

    admin = ShareGroupAdmin(listener_settings)
    async with started(registry, listener_settings):
        every = {f"{p}:{o}" for p in (0, 1) for o in range(total // 2)}
        # The dead member's locked records come back once their 2 s locks run out.
        await wait_until(
            lambda: by_doomed | by_survivor == every,
            timeout_s=90,
            what=lambda: f"every record handled ({len(by_doomed | by_survivor)} of {total})",
        )
        await wait_until(lambda: _lag_zero(admin, group), what="every record accepted")
    # The survivor did the dead member's unfinished work; what it finished it did not redo
    # except the records whose acceptance died with it (acknowledged with the next fetch).
    assert len(by_doomed) < total and by_survivor - by_doomed
    assert len(by_doomed & by_survivor) <= 20 + 20, json.dumps(sorted(by_doomed & by_survivor))


async def test_the_consumer_services_work_queue_reads_the_events_beside_the_event_log(
    listener_settings: KafkaSettings,
    topic_name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # More members than partitions: all of them are in the group, each assigned a partition.
    monkeypatch.setenv("WORK_QUEUE_ENABLED", "true")
    monkeypatch.setenv("WORK_QUEUE_SHARE_GROUP", f"work-{topic_name}")
    monkeypatch.setenv("WORK_QUEUE_CONCURRENCY", "3")
    events = EventsTopicSettings(topic=topic_name, partitions=2)
    await create_topic(listener_settings.bootstrap_servers, topic_name, partitions=2)
    app = create_consumer_app(
        listener_settings,
        events,
        event_log=EventLogSettings(group_id=f"event-log-{topic_name}"),
        store_settings=EventStoreSettings(url=f"sqlite:///{tmp_path}/events.db"),
    )
    sent = [EventDto(type=f"t{i % 3}", source="test", key=f"k{i}") for i in range(30)]
    async with running(app, "consumer") as client:
        await produce(
            listener_settings.bootstrap_servers,
            topic_name,
            [event.model_dump_json().encode() for event in sent],
        )

        async def worked_and_stored() -> bool:
            work = (await client.get("/work")).json()
            stored = (await client.get("/events", params={"limit": 100})).json()
            return work["done"] == 30 and len(stored) == 30

        await wait_until(worked_and_stored, 60, "30 events worked through and 30 stored")
        group = f"work-{topic_name}"

        async def lag_zero() -> bool:
            answer = await client.get(f"/lag/{group}")
            return answer.status_code == 200 and answer.json()["total_lag"] == 0

        await wait_until(lag_zero, 30, "the share group's lag at 0 on GET /lag")
        lag = (await client.get(f"/lag/{group}")).json()
        work = (await client.get("/work")).json()

        async def lag_seen() -> bool:
            body = (await client.get("/listeners/work_queue")).json()
            return body["records_lag_max"] == 0

        await wait_until(lag_seen, 30, "the listener's status showing the group's lag")
        listener = (await client.get("/listeners/work_queue")).json()
        metrics = (await client.get("/metrics")).text
        console = (await client.get("/console/listeners")).text
        seek = await client.post("/listeners/work_queue/seek", json={"position": "beginning"})
    # Read twice, once per kind of group: every event stored once and worked through once.
    assert work["by_type"] == {"t0": 10, "t1": 10, "t2": 10}
    assert sorted(item["id"] for item in work["latest"]) == sorted(str(e.id) for e in sent)
    assert listener["share_group"] is True and listener["concurrency"] == 3
    assert all(c["share"]["member_id"] for c in listener["containers"])
    assert 'kafka_listener_records_total{listener="work_queue",outcome="handled"} 30.0' in metrics
    assert f'kafka_share_records_in_flight{{group="{group}",listener="work_queue"}} 0.0' in metrics
    assert (
        f'kafka_share_group_lag{{group="{group}",partition="1",topic="{topic_name}"}} 0.0'
        in metrics
    )
    assert lag["kind"] == "share" and sorted(p["partition"] for p in lag["partitions"]) == [0, 1]
    assert f"share group <code>{group}</code>" in console and "in flight" in console
    assert seek.status_code == 409 and "ShareGroupAdmin.reset" in seek.json()["detail"]


async def test_a_member_logs_its_assignment_once_not_at_every_heartbeat(
    listener_settings: KafkaSettings, topic_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    # The broker repeats the assignment in every heartbeat answer; the log says only changes.
    await create_topic(listener_settings.bootstrap_servers, topic_name, partitions=2)
    registry = ListenerRegistry()

    @kafka_listener(topic_name, share_group=f"share-{topic_name}", id="idle", registry=registry)
    async def idle(value: bytes) -> None:
        del value

    caplog.set_level(logging.INFO, logger="kafka_kit.share.consumer")
    async with started(registry, listener_settings):
        container = registry.container("idle")
        assert isinstance(container, ShareListenerContainer)
        await wait_until(lambda: _assigned(container), what="the member assigned")
        (member,) = container.members
        assert member.consumer is not None
        beats = member.consumer.heartbeats
        await wait_until(
            lambda: member.consumer is not None and member.consumer.heartbeats >= beats + 3,
            what="three more heartbeats",
        )
    said = [r.getMessage() for r in caplog.records if " assigned " in r.getMessage()]
    assert len(said) == 1, said
