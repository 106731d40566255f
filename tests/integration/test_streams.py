"""The example stream topology on a real broker: exact counts, late events, dead letters,
compacted changelogs."""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from quixstreams.state.manager import StateStoreManager

from consumer_service.event_stats import EventStats, EventStatsSettings, build_event_stats
from event_contract.events import EventsTopicSettings
from kafka_kit import KafkaAdmin, KafkaSettings
from kafka_kit.partitioners import key_partition
from kafka_kit.streams import StreamsApplication, StreamsSettings, StreamsState
from kafka_kit.streams._engine import Application
from kafka_kit.testing import committed_offsets, wait_until
from tests.kafka_helpers import create_topic, produce, read_to_end
from tests.streams_helpers import event, produce_events

WINDOW_S = 60
GRACE_S = 30
PARTITIONS = 3


def _build(listener_settings: KafkaSettings, events_topic: str, state_dir: Path) -> EventStats:
    streams = StreamsApplication(
        StreamsSettings(
            application_id=f"stats-{events_topic}",
            session_timeout_s=6,
            commit_interval_s=0.2,
            state_dir=str(state_dir),
        ),
        listener_settings,
    )
    return build_event_stats(
        streams,
        EventsTopicSettings(topic=events_topic, partitions=PARTITIONS),
        EventStatsSettings(window_s=WINDOW_S, grace_s=GRACE_S),
    )


async def _create_events_topics(bootstrap: str, events_topic: str) -> None:
    await create_topic(bootstrap, events_topic, partitions=PARTITIONS)
    await create_topic(bootstrap, f"{events_topic}-dlt", partitions=PARTITIONS)


@pytest.fixture
async def topology(
    listener_settings: KafkaSettings, topic_name: str, tmp_path: Path
) -> AsyncIterator[tuple[EventStats, str]]:
    events_topic = f"{topic_name}-events"
    await _create_events_topics(listener_settings.bootstrap_servers, events_topic)
    stats = _build(listener_settings, events_topic, tmp_path / "state")
    async with stats.streams:
        await stats.streams.wait_until(StreamsState.RUNNING, timeout_s=90)
        yield stats, events_topic


def _key_stats(stats: EventStats, key: str) -> dict[str, object] | None:
    return stats.key_stats(key, key_partition(key.encode(), range(PARTITIONS)))


async def _window_counts(stats: EventStats, bootstrap: str) -> Counter[tuple[str, str]]:
    """The latest count of each (type, window start) in the per-type output topic."""
    records = await read_to_end(
        bootstrap, stats.output_topics["per-type"], isolation_level="read_committed"
    )
    counts: Counter[tuple[str, str]] = Counter()
    for record in records:
        value = json.loads(record.value)
        counts[(value["type"], value["window_start"])] = value["count"]
    return counts


async def test_counts_are_exact_with_duplicates_out_of_order_and_late_events(
    topology: tuple[EventStats, str], listener_settings: KafkaSettings
) -> None:
    stats, topic = topology
    bootstrap = listener_settings.bootstrap_servers
    rng = random.Random(7)
    base = (time.time() // WINDOW_S) * WINDOW_S - 10 * WINDOW_S

    def start(at: float) -> str:
        window = base + (WINDOW_S if at >= base + WINDOW_S else 0)
        return stats_iso(window)

    # Phase 1: shuffled times in two windows, all before the first one closes (base+90):
    # out of order, but within the grace period.
    phase1 = [
        event(f"k{rng.randrange(10)}", rng.choice("abc"), base + rng.uniform(0, 89))
        for _ in range(200)
    ]
    duplicates = rng.sample(phase1, 20)
    sent = phase1 + duplicates
    rng.shuffle(sent)
    expected_windows: Counter[tuple[str, str]] = Counter(
        (e.type, start(e.occurred_at.timestamp())) for e in phase1
    )
    expected_keys: Counter[str] = Counter(e.key for e in phase1 if e.key)
    await produce_events(bootstrap, topic, sent)

    async def windows_are(expected: Counter[tuple[str, str]]) -> bool:
        return await _window_counts(stats, bootstrap) == expected

    await wait_until(lambda: windows_are(expected_windows), 90, "phase 1 counted per window")
    assert stats.duplicates == 20
    # Phase 2: stream time passes the first window's end plus grace...
    advance = event("k1", "a", base + 100)
    await produce_events(bootstrap, topic, [advance])
    expected_windows[("a", stats_iso(base + WINDOW_S))] += 1
    await wait_until(lambda: windows_are(expected_windows), 60, "phase 2 counted")
    # ...so an event of the first window is late now: reported, not counted in its window.
    late = event("k1", "a", base + 30)
    await produce_events(bootstrap, topic, [late])
    await wait_until(lambda: stats.late.get("a") == 1, 60, "the late event reported")
    assert await _window_counts(stats, bootstrap) == expected_windows
    # Per key nothing is windowed: every distinct event counts, last-seen is the latest time.
    expected_keys.update(["k1", "k1"])
    await wait_until(
        lambda: (
            {k: (_key_stats(stats, k) or {}).get("count") for k in expected_keys}
            == dict(expected_keys)
        ),
        60,
        "per-key counts",
    )
    k1_times = [e.occurred_at for e in [*phase1, advance] if e.key == "k1"]
    assert _key_stats(stats, "k1")["last_seen"] == max(k1_times).isoformat()  # type: ignore[index]

    # The per-key output topic says the same (read committed: exactly-once output).
    per_key_out = await read_to_end(
        bootstrap, stats.output_topics["per-key"], isolation_level="read_committed"
    )
    latest = {r.key.decode(): json.loads(r.value)["count"] for r in per_key_out if r.key}
    assert latest == dict(expected_keys)
    assert len(per_key_out) == sum(expected_keys.values())


def stats_iso(epoch_s: float) -> str:
    from consumer_service.event_stats import _iso_ms

    return _iso_ms(int(epoch_s * 1000))


async def test_a_record_that_is_no_event_is_dead_lettered_with_springs_headers(
    topology: tuple[EventStats, str], listener_settings: KafkaSettings
) -> None:
    stats, topic = topology
    bootstrap = listener_settings.bootstrap_servers
    await produce(bootstrap, topic, [b'{"type": "x"}'], key=b"bad")
    good = event("bad", "ok", time.time())
    await produce_events(bootstrap, topic, [good])
    await wait_until(lambda: _key_stats(stats, "bad") is not None, 60, "the next event counted")
    dead_letters = stats.streams.dead_letter_topic
    assert dead_letters == f"{stats.streams.application_id}-dlt"
    (dead,) = await read_to_end(bootstrap, dead_letters, isolation_level="read_committed")
    assert dead.value == b'{"type": "x"}' and dead.key == b"bad"
    headers = dict(dead.headers)
    assert headers["kafka_dlt-original-topic"] == topic.encode()
    assert headers["kafka_dlt-original-partition"] == dead.partition.to_bytes(4, "big")
    assert headers["kafka_dlt-exception-fqcn"] == b"pydantic_core._pydantic_core.ValidationError"
    assert headers["kafka_dlt-original-consumer-group"] == stats.streams.application_id.encode()
    assert stats.streams.health()["dead_lettered"] == {"deserialization": 1}
    assert stats.streams.state is StreamsState.RUNNING


async def test_changelog_topics_are_compacted(
    topology: tuple[EventStats, str], listener_settings: KafkaSettings
) -> None:
    stats, _ = topology
    async with KafkaAdmin(listener_settings).client() as client:
        names = [t for t in await client.list_topics() if t.startswith("changelog__")]
        ours = [t for t in names if stats.streams.application_id in t]
        described = await KafkaAdmin.topic_configs(client, ours)
    policies = {name: values["cleanup.policy"] for name, (values, _) in described.items()}
    # One per store: the input stream's (ids, per-key values), the repartitioned stream's (ids
    # by type) and its window store.
    assert len(policies) == 3, policies
    assert set(policies.values()) == {"compact"}


def _failing_on_boom(seen: list[bytes], topic: str) -> Callable[[Application], None]:
    def declare(app: Application) -> None:
        def handle(value: bytes) -> bytes:
            seen.append(value)
            if value == b"boom":
                raise ValueError("cannot handle boom")
            return value

        app.dataframe(app.topic(topic, value_deserializer="bytes")).apply(handle)

    return declare


async def test_a_record_the_topology_raises_on_is_dead_lettered_and_the_rest_processed(
    listener_settings: KafkaSettings, topic_name: str, tmp_path: Path
) -> None:
    bootstrap = listener_settings.bootstrap_servers
    await create_topic(bootstrap, topic_name, partitions=1)
    await produce(bootstrap, topic_name, [b"1", b"2", b"boom", b"4"])
    group = f"boom-{topic_name}"
    streams = StreamsApplication(
        StreamsSettings(application_id=group, commit_interval_s=0.2, state_dir=str(tmp_path)),
        listener_settings,
    )
    seen: list[bytes] = []
    streams.declare(_failing_on_boom(seen, topic_name))
    async with streams:
        await wait_until(lambda: len(seen) == 4, 90, "every record processed")
        await wait_until(lambda: committed_offsets(bootstrap, group), 30, "the offsets committed")
        health = streams.health()
    assert health["state"] == "RUNNING" and health["restarts"] == 0
    assert health["dead_lettered"] == {"processing": 1}
    (dead,) = await read_to_end(bootstrap, f"{group}-dlt", isolation_level="read_committed")
    assert dead.value == b"boom"
    assert dict(dead.headers)["kafka_dlt-exception-message"] == b"cannot handle boom"
    assert (await committed_offsets(bootstrap, group))[(topic_name, 0)] == 4


async def test_a_fail_policy_stops_the_application_with_its_record_uncommitted(
    listener_settings: KafkaSettings, topic_name: str, tmp_path: Path
) -> None:
    bootstrap = listener_settings.bootstrap_servers
    await create_topic(bootstrap, topic_name, partitions=1)
    await produce(bootstrap, topic_name, [b"1", b"2", b"boom", b"4"])
    group = f"fails-{topic_name}"
    streams = StreamsApplication(
        StreamsSettings(
            application_id=group,
            commit_interval_s=0.2,
            state_dir=str(tmp_path),
            on_processing_error="fail",
        ),
        listener_settings,
    )
    seen: list[bytes] = []
    streams.declare(_failing_on_boom(seen, topic_name))
    async with streams:
        await streams.wait_until(StreamsState.ERROR, timeout_s=90)
        health = streams.health()
    assert health["state"] == "ERROR" and health["restarts"] == 0
    assert health["error"].startswith("StreamsPolicyFailure: processing failure at")
    assert "ValueError: cannot handle boom" in health["error"]
    # Stopped at the record: not retried in a loop, not skipped, its offset not committed.
    assert seen == [b"1", b"2", b"boom"]
    committed = await committed_offsets(bootstrap, group)
    assert committed.get((topic_name, 0), 0) <= 2


async def test_a_keyless_event_is_counted_by_type_and_not_by_key(
    topology: tuple[EventStats, str], listener_settings: KafkaSettings
) -> None:
    stats, topic = topology
    bootstrap = listener_settings.bootstrap_servers
    solo = event(None, "solo", time.time())
    await produce_events(bootstrap, topic, [solo, solo])  # sent twice: counted once

    async def counted() -> bool:
        return (await _window_counts(stats, bootstrap)).get(
            ("solo", stats_iso(solo.occurred_at.timestamp() // WINDOW_S * WINDOW_S))
        ) == 1

    await wait_until(counted, 60, "the keyless event in its type's window")
    assert stats.streams.state is StreamsState.RUNNING
    per_key_out = await read_to_end(bootstrap, stats.output_topics["per-key"])
    assert per_key_out == []


async def test_an_application_stopped_while_it_starts_ends_its_thread(
    listener_settings: KafkaSettings, topic_name: str, tmp_path: Path
) -> None:
    # A service shut down a moment after it started: the engine marks itself running only once
    # it has subscribed, which must not undo a stop asked for before that.
    await create_topic(listener_settings.bootstrap_servers, topic_name, partitions=1)
    streams = StreamsApplication(
        StreamsSettings(application_id=f"brief-{topic_name}", state_dir=str(tmp_path)),
        listener_settings,
    )
    streams.app.dataframe(streams.app.topic(topic_name, value_deserializer="bytes"))
    await streams.start()
    await streams.stop(timeout_s=20)
    assert streams.state is StreamsState.NOT_RUNNING
    thread = streams._thread
    assert thread is not None and not thread.is_alive()


async def test_an_instance_restoring_its_stores_is_not_running_until_they_are_restored(
    listener_settings: KafkaSettings,
    topic_name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Between the assignment (stores registered for restoring) and the first round of the
    # restore loop, the engine's "recovering" flag is still down: a state read then said RUNNING
    # and answered queries from half-empty stores (CI: 404 for a key right after a restart).
    bootstrap = listener_settings.bootstrap_servers
    events_topic = f"{topic_name}-events"
    await _create_events_topics(bootstrap, events_topic)
    events = [event(f"k{n % 20}", "a", time.time() - n) for n in range(200)]
    expected = Counter(e.key for e in events if e.key)
    first = _build(listener_settings, events_topic, tmp_path / "first")
    async with first.streams:
        await first.streams.wait_until(StreamsState.RUNNING, timeout_s=90)
        await produce_events(bootstrap, events_topic, events)
        await wait_until(
            lambda: all(
                (_key_stats(first, k) or {}).get("count") == n for k, n in expected.items()
            ),
            90,
            "every key counted",
        )
    entered, release = threading.Event(), threading.Event()
    restore = StateStoreManager.do_recovery

    def gated(manager: StateStoreManager) -> None:
        entered.set()
        release.wait(60)
        restore(manager)

    monkeypatch.setattr(StateStoreManager, "do_recovery", gated)
    # A new machine: nothing on disk, every store rebuilt from its changelog.
    second = _build(listener_settings, events_topic, tmp_path / "second")
    async with second.streams:
        await wait_until(entered.is_set, 90, "the restore about to start")
        try:
            assert second.streams.state is StreamsState.REBALANCING
        finally:
            release.set()
        await second.streams.wait_until(StreamsState.RUNNING, timeout_s=90)
        assert {k: (_key_stats(second, k) or {}).get("count") for k in expected} == dict(expected)
