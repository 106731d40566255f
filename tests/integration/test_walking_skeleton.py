"""End to end: an event POSTed over HTTP reaches the example listener through a real broker."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from consumer_service.app import create_app as create_consumer_app
from consumer_service.event_store import event_store_for
from consumer_service.settings import EventLogSettings, EventStoreSettings
from event_contract.events import EventDto, EventsTopicSettings
from kafka_kit.settings import KafkaSettings
from kafka_kit.testing import read_records, wait_until
from producer_service.app import create_app as create_producer_app
from tests.app_helpers import running
from tests.kafka_helpers import create_topic, produce


async def wait_for_received(
    consumer: httpx.AsyncClient, event_id: str, timeout_s: float = 30.0
) -> dict[str, Any]:
    """Poll the consumer until the example listener has handled ``event_id``."""
    async with asyncio.timeout(timeout_s):
        while True:
            recent = (await consumer.get("/events/recent", params={"limit": 100})).json()
            for entry in recent:
                if entry["event"]["id"] == event_id:
                    return entry
            await asyncio.sleep(0.1)


@pytest.fixture
def events_topic(topic_name: str) -> EventsTopicSettings:
    # Given to both apps as objects, not through the environment: one source of configuration.
    return EventsTopicSettings(topic=topic_name, partitions=3)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The consumer's store: a SQLite file of the test's own, or the session's PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/events.db"
    dsn: str = request.getfixturevalue("postgres_dsn")
    return dsn


def event_log_consumer(
    settings: KafkaSettings, events: EventsTopicSettings, **options: Any
) -> FastAPI:
    """The consumer service, its example listener in a group of the test's own."""
    group = EventLogSettings(group_id=f"event-log-{events.topic}")
    return create_consumer_app(settings, events, event_log=group, **options)


async def test_posted_event_round_trips_to_the_listener(
    kafka_settings: KafkaSettings, events_topic: EventsTopicSettings
) -> None:
    posted = {
        "id": "6f1c1d5e-8a7b-4c3d-9e2f-0a1b2c3d4e5f",
        "type": "order.created",
        "source": "checkout",
        "key": "customer-42",
        "payload": {"order_id": 1001, "lines": [{"sku": "A-1", "qty": 2}], "note": "ünïcode"},
        "occurred_at": "2026-11-25T10:00:00.123456+02:00",
    }
    producer_app = create_producer_app(kafka_settings, events_topic)
    consumer_app = event_log_consumer(kafka_settings, events_topic)
    async with (
        running(producer_app, "producer") as producer,
        running(consumer_app, "consumer") as consumer,
    ):
        assert (await producer.get("/health")).json() == {"status": "UP"}
        health = (await consumer.get("/health")).json()
        # Watched clusters are shown (connecting, running, …), not judged.
        assert health["status"] == "UP" and set(health["lag_clusters"]) == {"local"}
        # The example listener consumes the topic it was given, in the group it was given.
        listener = (await consumer.get("/listeners/event_log")).json()
        assert (listener["topics"], listener["group_id"]) == (
            [events_topic.topic],
            f"event-log-{events_topic.topic}",
        )

        answer = await producer.post("/events", json=posted)
        assert answer.status_code == 202, answer.text
        accepted = answer.json()
        assert accepted["id"] == posted["id"]
        assert accepted["topic"] == events_topic.topic
        assert 0 <= accepted["partition"] < 3
        assert accepted["offset"] == 0  # a fresh topic: the first record of its partition

        received = await wait_for_received(consumer, posted["id"])
        assert received["event"] == posted
        assert (received["topic"], received["partition"], received["offset"]) == (
            accepted["topic"],
            accepted["partition"],
            accepted["offset"],
        )


async def test_defaults_are_generated_and_same_key_keeps_its_partition(
    kafka_settings: KafkaSettings, events_topic: EventsTopicSettings
) -> None:
    producer_app = create_producer_app(kafka_settings, events_topic)
    consumer_app = event_log_consumer(kafka_settings, events_topic)
    async with (
        running(producer_app, "producer") as producer,
        running(consumer_app, "consumer") as consumer,
    ):
        answers = []
        for n in range(3):
            body = {"type": "cart.updated", "source": "web", "key": "cart-7", "payload": {"n": n}}
            response = await producer.post("/events", json=body)
            assert response.status_code == 202, response.text
            answers.append(response.json())
        # One key, one partition, consecutive offsets: Kafka keeps a key's events in order.
        assert len({a["partition"] for a in answers}) == 1
        assert [a["offset"] for a in answers] == [0, 1, 2]
        for n, accepted in enumerate(answers):
            received = await wait_for_received(consumer, accepted["id"])
            assert received["event"]["payload"] == {"n": n}
            assert received["event"]["occurred_at"].endswith("Z")
            assert received["offset"] == accepted["offset"]


async def test_invalid_event_is_rejected_with_field_errors(
    kafka_settings: KafkaSettings, events_topic: EventsTopicSettings
) -> None:
    async with running(create_producer_app(kafka_settings, events_topic), "producer") as producer:
        response = await producer.post(
            "/events",
            json={"type": "", "source": "x", "extra": 1, "occurred_at": "2026-01-01T00:00:00"},
        )
    assert response.status_code == 422
    problems = {tuple(e["loc"]): e["type"] for e in response.json()["detail"]}
    assert problems[("body", "type")] == "string_too_short"
    assert problems[("body", "extra")] == "extra_forbidden"
    assert problems[("body", "occurred_at")] == "timezone_aware"


async def test_events_are_stored_once_and_read_back(
    kafka_settings: KafkaSettings, events_topic: EventsTopicSettings, store_url: str
) -> None:
    producer_app = create_producer_app(kafka_settings, events_topic)
    consumer_app = event_log_consumer(
        kafka_settings, events_topic, store_settings=EventStoreSettings(url=store_url)
    )
    async with (
        running(producer_app, "producer") as producer,
        running(consumer_app, "consumer") as consumer,
    ):
        posted = [
            (await producer.post("/events", json={"type": kind, "source": "shop"})).json()
            for kind in ("order.created", "order.paid", "order.created")
        ]
        for accepted in posted:
            await wait_for_received(consumer, accepted["id"])
        one = (await consumer.get(f"/events/{posted[1]['id']}")).json()
        assert one["event"]["type"] == "order.paid"
        assert (one["partition"], one["offset"]) == (posted[1]["partition"], posted[1]["offset"])
        created = (await consumer.get("/events", params={"type": "order.created"})).json()
        assert {e["event"]["id"] for e in created} == {posted[0]["id"], posted[2]["id"]}
        missing = await consumer.get("/events/00000000-0000-0000-0000-000000000000")
        assert missing.status_code == 404

        # Replaying the topic redelivers every event: the store ignores the repeats.
        before = (await consumer.get("/events/stats")).json()
        await consumer.post("/listeners/event_log/seek", json={"position": "beginning"})

        async def repeats_ignored() -> bool:
            stats = (await consumer.get("/events/stats")).json()
            return stats["duplicates_ignored"] >= before["duplicates_ignored"] + 3

        await wait_until(repeats_ignored, 30, "the replayed events ignored")
        after = (await consumer.get("/events/stats")).json()
    assert after["stored"] == before["stored"]


async def test_a_poll_of_events_is_stored_in_one_transaction_and_a_poison_pill_alone_dies(
    kafka_settings: KafkaSettings, events_topic: EventsTopicSettings, store_url: str
) -> None:
    bootstrap = kafka_settings.bootstrap_servers
    topic = events_topic.topic
    await create_topic(bootstrap, topic, partitions=1)
    events = [EventDto(type="bulk", source="test", payload={"n": n}) for n in range(1200)]
    values = [e.model_dump_json().encode() for e in events]
    values.insert(700, b"{not an event")  # one poison pill inside a poll
    await produce(bootstrap, topic, values)
    consumer_app = event_log_consumer(
        kafka_settings, events_topic, store_settings=EventStoreSettings(url=store_url)
    )
    async with running(consumer_app, "consumer") as consumer:

        async def all_stored() -> bool:
            return (await consumer.get("/events/stats")).json()["inserted"] == len(events)

        await wait_until(all_stored, 60, "every event stored")
        stats = (await consumer.get("/events/stats")).json()
        dead = await read_records(bootstrap, f"{topic}-dlt", 1)
    assert [letter.value for letter in dead] == [b"{not an event"]
    # 1,200 events in polls of up to 500: a few transactions, not one per event.
    assert 3 <= stats["transactions"] <= 10, stats
    assert stats["duplicates_ignored"] == 0
    assert await _stored_numbers(store_url, len(events)) == list(range(1200))


async def _stored_numbers(url: str, count: int) -> list[int]:
    store = event_store_for(url)
    await store.open()
    try:
        found = await store.query(type="bulk", limit=count)
    finally:
        await store.close()
    return sorted(int(e.event.payload["n"]) for e in found)
