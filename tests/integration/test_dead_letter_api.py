"""Dead letters over the consumer service's HTTP API: list them, replay them once each."""

from __future__ import annotations

import pytest

from consumer_service.app import create_app
from consumer_service.settings import ListenerRetrySettings
from event_contract.events import EventsTopicSettings
from kafka_kit import headers as h
from kafka_kit import kafka_listener
from kafka_kit.admin import KafkaAdmin
from kafka_kit.registry import ListenerRegistry
from kafka_kit.settings import KafkaSettings
from kafka_kit.testing import wait_until
from tests.app_helpers import running
from tests.kafka_helpers import produce, read_to_end


async def test_list_and_replay_dead_letters(  # noqa: PLR0915 - one story, told in order
    listener_settings: KafkaSettings, topic_name: str
) -> None:
    bootstrap = listener_settings.bootstrap_servers
    registry = ListenerRegistry()
    fixed = False
    handled: list[bytes] = []

    @kafka_listener(topic_name, group_id=f"g-{topic_name}", registry=registry)
    async def orders(value: bytes) -> None:
        if value.startswith(b"bad") and not fixed:
            raise LookupError(f"no customer for {value.decode()}")
        handled.append(value)

    app = create_app(
        listener_settings,
        EventsTopicSettings(topic=topic_name, partitions=1),
        registry,
        retry=ListenerRetrySettings(attempts=2, initial_s=0.05),
    )
    async with running(app, "consumer") as client:
        await produce(bootstrap, topic_name, [b"bad-1", b"good", b"bad-2", b"bad-3"], key=b"k")
        await wait_until(
            lambda: _count(bootstrap, f"{topic_name}-dlt", 3), 30, "three dead letters"
        )
        listing = await client.get(f"/dlt/{topic_name}")
        assert listing.status_code == 200, listing.text
        body = listing.json()
        assert body["topic"] == f"{topic_name}-dlt"
        first = body["records"][0]
        assert first["value"] == {"text": "bad-1"} and first["key"] == {"text": "k"}
        assert first["exception"]["class"] == "builtins.LookupError"
        assert first["exception"]["message"] == "no customer for bad-1"
        assert first["original"] == {
            "topic": topic_name,
            "partition": 0,
            "offset": 0,
            "timestamp": first["original"]["timestamp"],
            "timestamp_type": "CreateTime",
            "consumer_group": f"g-{topic_name}",
        }
        assert [r["original"]["offset"] for r in body["records"]] == [0, 2, 3]
        assert not any(r["replayed"] for r in body["records"])
        # Also addressable by the dead-letter topic's own name.
        assert (await client.get(f"/dlt/{topic_name}-dlt")).json() == body

        fixed = True  # the bug is fixed: replay one
        one = {"partition": first["partition"], "offset": first["offset"]}
        replay = await client.post(f"/dlt/{topic_name}/replay", json={"records": [one]})
        assert replay.status_code == 200, replay.text
        (sent,) = replay.json()["replayed"]
        assert sent["dead_letter"] == one and sent["topic"] == topic_name
        await wait_until(lambda: b"bad-1" in handled, 30, "the replayed record handled")
        originals = await read_to_end(bootstrap, topic_name)
        replayed = originals[-1]
        assert (replayed.offset, replayed.value, replayed.key) == (sent["offset"], b"bad-1", b"k")
        source = dict(replayed.headers)[h.DLT_REPLAYED_FROM].decode()
        assert source == f"{topic_name}-dlt/{one['partition']}/{one['offset']}"

        # The same record written with doubles (JSON Schema's integer: 0.0 is 0).
        doubles = {name: float(number) for name, number in one.items()}
        again = await client.post(f"/dlt/{topic_name}/replay", json={"records": [doubles]})
        assert again.status_code == 409
        assert again.json()["detail"]["records"] == [one]

        everything = await client.post(f"/dlt/{topic_name}/replay", json={"all": True})
        assert everything.status_code == 200
        assert len(everything.json()["replayed"]) == 2
        assert everything.json()["skipped_already_replayed"] == [one]
        await wait_until(lambda: {b"bad-2", b"bad-3"} <= set(handled), 30, "the other two")
        nothing_left = await client.post(f"/dlt/{topic_name}/replay", json={"all": True})
        assert nothing_left.json()["replayed"] == []
        assert len(nothing_left.json()["skipped_already_replayed"]) == 3
        listing = (await client.get(f"/dlt/{topic_name}")).json()
        assert all(r["replayed"] for r in listing["records"])

        missing = await client.post(
            f"/dlt/{topic_name}/replay", json={"records": [{"partition": 0, "offset": 99}]}
        )
        assert missing.status_code == 404
        assert (await client.get("/dlt/no-such-topic")).status_code == 404
        status = (await client.get("/listeners/orders")).json()
        assert status["containers"][0]["metrics"]["dead_lettered"] == 3


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"records": []},
        {"all": False},
        {"all": True, "records": [{"partition": 0, "offset": 0}]},
        {"records": [{"partition": -1, "offset": 0}]},
        {"records": [{"partition": 0}]},
        # Booleans and strings are not numbers, numbers not booleans (no lax coercion).
        {"records": [{"partition": False, "offset": 0}]},
        {"records": [{"partition": 0, "offset": True}]},
        {"records": [{"partition": "0", "offset": 0}]},
        {"all": 1},
        {"all": "true"},
    ],
)
async def test_bad_replay_bodies_are_422(
    listener_settings: KafkaSettings, topic_name: str, body: dict
) -> None:
    app = create_app(
        listener_settings, EventsTopicSettings(topic=topic_name, partitions=1), ListenerRegistry()
    )
    async with running(app) as client:
        assert (await client.post(f"/dlt/{topic_name}/replay", json=body)).status_code == 422


async def _count(bootstrap: str, topic: str, count: int) -> bool:
    return len(await read_to_end(bootstrap, topic)) >= count


async def test_asking_for_a_missing_dead_letter_topic_creates_nothing(
    listener_settings: KafkaSettings, topic_name: str
) -> None:
    app = create_app(
        listener_settings, EventsTopicSettings(topic=f"{topic_name}-events", partitions=1),
        ListenerRegistry(),
    )  # fmt: skip
    async with running(app, "consumer") as client:
        for _ in range(2):  # the second answer is the same: the first created nothing
            answer = await client.get(f"/dlt/{topic_name}")
            assert answer.status_code == 404
            assert answer.json() == {"detail": f"no topic {topic_name}-dlt"}
    admin = KafkaAdmin(listener_settings)
    assert not await admin.exists(f"{topic_name}-dlt")
    assert not await admin.exists(f"{topic_name}-dlt-replays")
