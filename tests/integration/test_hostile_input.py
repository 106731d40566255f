"""Hostile input gets one policy: strict JSON, one nesting limit, Kafka's topic-name rules — a
clear 4xx every time, never a 500, and nothing accepted that the consumer cannot read."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import ValidationError

from consumer_service.app import create_app as create_consumer_app
from event_contract.events import EventDto, EventsTopicSettings
from kafka_kit.registry import ListenerRegistry
from kafka_kit.settings import KafkaSettings
from kafka_kit.web.strict_json import MAX_DEPTH
from producer_service.app import create_app as create_producer_app
from producer_service.settings import ProducerApiSettings
from tests.app_helpers import running
from tests.kafka_helpers import read_to_end

JSON = {"content-type": "application/json"}


@pytest.fixture
async def producer(
    kafka_settings: KafkaSettings, topic_name: str
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_producer_app(kafka_settings, EventsTopicSettings(topic=topic_name, partitions=1))
    async with running(app, "producer") as client:
        yield client


def event_with(payload_json: str) -> bytes:
    return f'{{"type":"t","source":"s","payload":{payload_json}}}'.encode()


def nested(depth: int) -> str:
    """A payload value nested so that the whole event is ``depth`` levels deep."""
    inner = depth - 2  # the event object and the payload object are two levels
    return "{" + '"x":' + "[" * inner + "1" + "]" * inner + "}"


@pytest.mark.parametrize(
    "payload",
    ['{"n":NaN}', '{"n":Infinity}', '{"n":-Infinity}', '{"n":1e400}', '{"s":"\\ud800"}',
     '{"\\udfff":1}', '{"n":-1e999}'],
)  # fmt: skip
async def test_numbers_out_of_range_and_lone_surrogates_are_422(
    producer: httpx.AsyncClient, payload: str
) -> None:
    for path, body in (("/events", event_with(payload)), ("/events/batch",
                       b"[" + event_with(payload) + b"]")):  # fmt: skip
        answer = await producer.post(path, content=body, headers=JSON)
        assert answer.status_code == 422, (path, answer.text)
        json.loads(answer.text)  # the error body itself is valid JSON


async def test_one_nesting_limit_for_one_event_and_many(
    producer: httpx.AsyncClient, kafka_settings: KafkaSettings, topic_name: str
) -> None:
    at_limit, over = event_with(nested(MAX_DEPTH)), event_with(nested(MAX_DEPTH + 1))
    assert (await producer.post("/events", content=at_limit, headers=JSON)).status_code == 202
    batch = await producer.post("/events/batch", content=b"[" + at_limit + b"]", headers=JSON)
    assert batch.status_code == 202
    for depth in (MAX_DEPTH + 1, 256, 999, 1000, 5000):
        body = event_with(nested(depth))
        single = await producer.post("/events", content=body, headers=JSON)
        many = await producer.post("/events/batch", content=b"[" + body + b"]", headers=JSON)
        assert (single.status_code, many.status_code) == (422, 422), depth
    assert "nesting deeper than" in (await producer.post(
        "/events", content=over, headers=JSON)).text  # fmt: skip
    # What was accepted, the consumer side reads back as events.
    for record in await read_to_end(kafka_settings.bootstrap_servers, topic_name):
        EventDto.model_validate_json(record.value or b"")


async def test_undecodable_bodies_are_422_as_documented(producer: httpx.AsyncClient) -> None:
    for body in (b"{not json", b"\xff\xfe", b""):
        answer = await producer.post("/events", content=body, headers=JSON)
        assert answer.status_code == 422, (body, answer.text)


async def test_invalid_topic_names_are_refused_not_waited_on(
    producer: httpx.AsyncClient, listener_settings: KafkaSettings, topic_name: str
) -> None:
    for bad in ("a b", "x" * 250, "tópico", "a\tb"):
        answer = await producer.post("/events", params={"topic": bad}, json={"type": "t",
                                     "source": "s"})  # fmt: skip
        assert answer.status_code == 422, (bad, answer.text)
    app = create_consumer_app(
        listener_settings, EventsTopicSettings(topic=f"{topic_name}-e", partitions=1),
        ListenerRegistry(),
    )  # fmt: skip
    async with running(app, "consumer") as client:
        for bad in ("a%20b", "x" * 250, "%C3%B3", "a%09b"):
            listing = await client.get(f"/dlt/{bad}")
            replay = await client.post(f"/dlt/{bad}/replay", json={"all": True})
            assert (listing.status_code, replay.status_code) == (422, 422), bad
    with pytest.raises(ValidationError, match="not a valid Kafka topic name"):
        ProducerApiSettings(allowed_topics="audit, bad topic")
    with pytest.raises(ValidationError):
        EventsTopicSettings(topic="no spaces allowed")
