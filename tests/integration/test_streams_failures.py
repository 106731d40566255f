"""Stream applications against bad data and failing engines, on a real broker: policies per
failure kind, timestamps the broker would refuse, restarts from the committed state, poison."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from confluent_kafka import KafkaError, KafkaException

from consumer_service.app import create_app as create_consumer_app
from consumer_service.event_stats import EventStatsSettings
from event_contract.events import EventsTopicSettings
from kafka_kit.registry import ListenerRegistry
from kafka_kit.settings import KafkaSettings
from kafka_kit.streams import State, StreamsApplication, StreamsSettings, StreamsState
from kafka_kit.streams._engine import Application
from kafka_kit.testing import committed_offsets, wait_until
from producer_service.app import create_app as create_producer_app
from tests.app_helpers import running
from tests.kafka_helpers import create_topic, produce, read_to_end

Report = Callable[[dict[str, object]], None]

HOURS_MS = 3600 * 1000


def _now_ms() -> int:
    return int(time.time() * 1000)


def _settings(group: str, state: Path, **policies: Any) -> StreamsSettings:
    return StreamsSettings(
        application_id=group,
        commit_interval_s=0.2,
        session_timeout_s=6,
        state_dir=str(state),
        restart_backoff_s=0.2,
        restart_backoff_max_s=1.0,
        **policies,
    )


def _timestamped(source: str, out: str) -> Callable[[Application], None]:
    """Each record's output carries the time its value names, as event-time topologies do."""

    def declare(app: Application) -> None:
        records = app.topic(source, value_deserializer="json")
        output = app.topic(out, value_serializer="json")
        stamped = app.dataframe(records).set_timestamp(
            lambda value, key, timestamp, headers: value["at"]
        )
        stamped.to_topic(output)

    return declare


@pytest.fixture
async def topics(kafka_bootstrap_servers: str, topic_name: str) -> AsyncIterator[tuple[str, str]]:
    await create_topic(kafka_bootstrap_servers, topic_name)
    await create_topic(kafka_bootstrap_servers, f"{topic_name}-out")
    yield topic_name, f"{topic_name}-out"


def _values(now: int) -> list[bytes]:
    return [json.dumps({"n": n, "at": at}).encode() for n, at in enumerate(
        [now, now + 10 * HOURS_MS, now - 1000, -5000, now]
    )]  # fmt: skip


@pytest.mark.parametrize("policy", ["clamp", "dead-letter", "fail"])
async def test_an_output_timestamp_the_broker_would_refuse_is_caught_before_it_is_produced(
    listener_settings: KafkaSettings,
    topics: tuple[str, str],
    tmp_path: Path,
    policy: str,
) -> None:
    source, out = topics
    bootstrap = listener_settings.bootstrap_servers
    group = f"ts-{policy}-{source}"
    streams = StreamsApplication(_settings(group, tmp_path, on_invalid_timestamp=policy),
                                 listener_settings)  # fmt: skip
    streams.declare(_timestamped(source, out))
    started = _now_ms()
    await produce(bootstrap, source, _values(started))
    async with streams:
        if policy == "fail":
            await streams.wait_until(StreamsState.ERROR, timeout_s=90)
            assert "bad timestamp" in streams.health()["error"]
            assert streams.restarts == 0
            return
        await wait_until(
            lambda: sum(streams.records_processed.values()) == 5, 90, "every record processed"
        )
        await wait_until(lambda: committed_offsets(bootstrap, group), 30, "offsets committed")
        health = streams.health()
    assert health["state"] == "RUNNING" and health["restarts"] == 0
    written = await read_to_end(bootstrap, out, isolation_level="read_committed")
    by_n = {json.loads(r.value)["n"]: r.timestamp for r in written}
    if policy == "clamp":
        assert sorted(by_n) == [0, 1, 2, 3, 4]
        assert health["timestamps_clamped"] == 2
        for n in (1, 3):  # written at the time they were processed, not the time they name
            assert started - 1000 <= by_n[n] <= _now_ms()
        return
    assert sorted(by_n) == [0, 2, 4]
    assert health["dead_lettered"] == {"production": 2}
    dead = await read_to_end(bootstrap, f"{group}-dlt", isolation_level="read_committed")
    assert [json.loads(r.value)["n"] for r in dead] == [1, 3]
    assert b"message.timestamp.after.max.ms" in dict(dead[0].headers)["kafka_dlt-exception-message"]


async def test_an_output_the_broker_refuses_after_all_is_caught_by_the_next_engine(
    listener_settings: KafkaSettings, topics: tuple[str, str], tmp_path: Path
) -> None:
    # The engine checked the output topic's limits when it started; the topic is changed behind
    # its back, so the broker refuses what the check let through and the transaction fails. The
    # next engine checks the limits again: the refused record's output is clamped now (the
    # default policy), the other record, refused only for sharing its batch, is written as it is.
    source, out = topics
    bootstrap = listener_settings.bootstrap_servers
    group = f"refused-{source}"
    streams = StreamsApplication(_settings(group, tmp_path), listener_settings)
    streams.declare(_timestamped(source, out))
    async with streams:
        await produce(bootstrap, source, [json.dumps({"n": 0, "at": _now_ms()}).encode()])
        await wait_until(lambda: sum(streams.records_processed.values()) == 1, 90, "one record")
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            tight = {"message.timestamp.after.max.ms": "120000"}
            await admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, out, tight)])
        finally:
            await admin.close()
        ahead = _now_ms() + 30 * 60 * 1000  # fine by the old limit, refused by the new one
        now = _now_ms()
        await produce(bootstrap, source, [json.dumps({"n": n, "at": at}).encode()
                                          for n, at in [(1, ahead), (2, now)]])  # fmt: skip

        async def written() -> dict[int, int]:
            records = await read_to_end(bootstrap, out, isolation_level="read_committed")
            return {json.loads(r.value)["n"]: r.timestamp for r in records}

        await wait_until(lambda: streams.restarts >= 1, 90, "the engine restarted")
        await wait_until(async_len(written, 3), 90, "every record written")
        health = streams.health()
    assert health["state"] == "RUNNING"
    assert health["timestamps_clamped"] == 1 and health["dead_lettered"] == {}
    stamps = await written()
    assert stamps[2] == now and stamps[1] < ahead


def async_len(read: Callable[[], Any], count: int) -> Callable[[], Any]:
    async def reached() -> bool:
        return len(await read()) == count

    return reached


def _counting(source: str, out: str, fail: Callable[[int], bool]) -> Callable[[Application], None]:
    """A running count per key; ``fail(n)`` makes processing record ``n`` a client failure."""

    def declare(app: Application) -> None:
        def count(value: dict[str, int], state: State[str, Any]) -> dict[str, int]:
            if fail(value["n"]):
                raise KafkaException(KafkaError(KafkaError._TRANSPORT, "the broker went away"))
            total = state.get("count", 0) + 1
            state.set("count", total)
            return {"n": value["n"], "count": total}

        records = app.topic(source, key_deserializer="str", value_deserializer="json")
        output = app.topic(out, key_serializer="str", value_serializer="json")
        app.dataframe(records).apply(count, stateful=True).to_topic(output)

    return declare


async def test_a_failed_engine_is_replaced_and_resumes_from_its_committed_state(
    listener_settings: KafkaSettings, topics: tuple[str, str], tmp_path: Path
) -> None:
    source, out = topics
    bootstrap = listener_settings.bootstrap_servers
    group = f"restarts-{source}"
    failed: list[int] = []

    def once_at_record_30(n: int) -> bool:
        if n == 30 and not failed:
            failed.append(n)
            return True
        return False

    streams = StreamsApplication(_settings(group, tmp_path), listener_settings)
    streams.declare(_counting(source, out, once_at_record_30))
    await produce(bootstrap, source, [json.dumps({"n": n}).encode() for n in range(60)], key=b"k")
    async with streams:
        await wait_until(lambda: streams.restarts == 1, 90, "one restart")
        await wait_until(lambda: streams.state is StreamsState.RUNNING, 90, "running again")

        async def all_counted() -> bool:
            written = await read_to_end(bootstrap, out, isolation_level="read_committed")
            return len(written) == 60

        await wait_until(all_counted, 90, "every record counted")
        health = streams.health()
    assert health["last_error"].startswith("KafkaException")
    assert health["dead_lettered"] == {}
    written = await read_to_end(bootstrap, out, isolation_level="read_committed")
    # Exactly once across the restart: the count of the key is 1..60, each once.
    assert [json.loads(r.value)["count"] for r in written] == list(range(1, 61))


async def test_a_record_that_keeps_killing_the_engine_becomes_poison_and_is_dead_lettered(
    listener_settings: KafkaSettings, topics: tuple[str, str], tmp_path: Path
) -> None:
    source, out = topics
    bootstrap = listener_settings.bootstrap_servers
    group = f"poison-{source}"
    streams = StreamsApplication(_settings(group, tmp_path), listener_settings)
    streams.declare(_counting(source, out, lambda n: n == 3))
    await produce(bootstrap, source, [json.dumps({"n": n}).encode() for n in range(6)], key=b"k")
    async with streams:
        await wait_until(
            lambda: streams.health()["dead_lettered"] == {"processing": 1}, 120, "dead-lettered"
        )

        async def the_rest_counted() -> bool:
            written = await read_to_end(bootstrap, out, isolation_level="read_committed")
            return len(written) == 5

        await wait_until(the_rest_counted, 90, "the other records counted")
        assert streams.state is StreamsState.RUNNING
        assert streams.restarts == 3  # poison_after_failures
    (dead,) = await read_to_end(bootstrap, f"{group}-dlt", isolation_level="read_committed")
    assert json.loads(dead.value) == {"n": 3}
    assert b"stopped the application 3 times" in dict(dead.headers)["kafka_dlt-exception-message"]


async def test_poison_events_posted_to_the_producer_leave_the_stream_application_running(
    listener_settings: KafkaSettings, topic_name: str, tmp_path: Path, report: Report
) -> None:
    # The adversarial run's poison, as an outside client posts it: an event thousands of years
    # ahead (a Kafka timestamp holds it: 202) — which once stopped the application for good —
    # and before 1970 (422, no timestamp holds it); and records no producer of ours would write.
    bootstrap = listener_settings.bootstrap_servers
    events = EventsTopicSettings(topic=topic_name, partitions=3)
    streams = StreamsSettings(
        application_id=f"stats-{topic_name}",
        commit_interval_s=0.2,
        session_timeout_s=6,
        state_dir=str(tmp_path / "state"),
    )
    producer = create_producer_app(listener_settings, events)
    consumer = create_consumer_app(
        listener_settings,
        events,
        ListenerRegistry(),
        event_stats=EventStatsSettings(enabled=True),
        streams=streams,
    )
    posted: Counter[str] = Counter()
    answers: Counter[int] = Counter()
    async with running(producer, "producer") as post, running(consumer, "consumer") as ask:

        async def state() -> str:
            return str((await ask.get("/streams")).json()["state"])

        await wait_until(lambda: _is(state, "RUNNING"), 90, "the topology running")
        poison = [
            {"type": "order.created", "source": "fuzz", "key": "k-poison",
             "occurred_at": "5000-01-01T00:00:00Z"},
            {"type": "order.created", "source": "fuzz", "key": "k-poison",
             "occurred_at": "9999-12-31T23:59:59.999Z"},
            {"type": "order.created", "source": "fuzz", "occurred_at": "0001-01-01T00:00:00Z"},
        ]  # fmt: skip
        for n in range(240):
            key = f"k-{n % 12}"
            if n % 40 == 7:
                answers[(await post.post("/events", json=poison[(n // 40) % 3])).status_code] += 1
            answer = await post.post(
                "/events", json={"type": f"t{n % 3}", "source": "t", "key": key}
            )
            assert answer.status_code == 202
            posted[key] += 1
        await produce(bootstrap, topic_name, [b"\xff not json", b'{"type": 1}'], key=b"k-raw")

        async def counted() -> bool:
            for key, count in posted.items():
                answer = await ask.get(f"/streams/keys/{key}", follow_redirects=True)
                if answer.status_code != 200 or answer.json()["count"] != count:
                    return False
            return True

        await wait_until(counted, 120, "every good event counted per key")
        body = (await ask.get("/streams")).json()
        health = (await ask.get("/health")).json()
    far_ahead = answers[202]
    report({"posted": sum(posted.values()), "poison_answers": dict(answers),
            "dead_lettered": body["dead_lettered"], "restarts": body["restarts"]})  # fmt: skip
    assert body["state"] == "RUNNING" and body["restarts"] == 0 and body["error"] is None
    assert health["status"] == "UP"
    assert answers == {202: far_ahead, 422: 6 - far_ahead} and far_ahead == 4
    assert body["dead_lettered"] == {"processing": far_ahead, "deserialization": 2}
    dead = await read_to_end(bootstrap, body["dead_letter_topic"], isolation_level="read_committed")
    assert len(dead) == far_ahead + 2
    reasons = {dict(r.headers)["kafka_dlt-exception-fqcn"] for r in dead}
    assert reasons == {b"builtins.ValueError", b"pydantic_core._pydantic_core.ValidationError"}


async def _is(read: Callable[[], Any], wanted: str) -> bool:
    return bool(await read() == wanted)
