"""The REST producer against the real broker: every answer, good input and bad."""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from starlette.responses import Response

from event_contract.events import EventsTopicSettings
from kafka_kit.partitioners import key_partition
from kafka_kit.settings import KafkaSettings
from kafka_kit.testing import read_records
from kafka_kit.web.fast_post import FastJsonPost
from producer_service.app import create_app
from producer_service.settings import ProducerApiSettings
from tests.app_helpers import running
from tests.kafka_helpers import create_topic

EVENT = {"type": "order.created", "source": "checkout", "key": "customer-1", "payload": {"n": 1}}


@pytest.fixture
async def api(kafka_settings: KafkaSettings, topic_name: str) -> AsyncIterator[httpx.AsyncClient]:
    await create_topic(kafka_settings.bootstrap_servers, f"{topic_name}-audit")
    app = create_app(
        kafka_settings,
        EventsTopicSettings(topic=topic_name, partitions=3),
        ProducerApiSettings(
            allowed_topics=[f"{topic_name}-audit", "__consumer_offsets"],
            max_body_bytes=4096,
            max_batch_events=5,
        ),
    )
    async with running(app, "producer") as client:
        yield client


async def test_post_event_answers_202_with_coordinates(
    api: httpx.AsyncClient, kafka_bootstrap_servers: str, topic_name: str
) -> None:
    response = await api.post("/events", json=EVENT)
    assert response.status_code == 202
    body = response.json()
    assert body["topic"] == topic_name and body["offset"] == 0
    (record,) = await read_records(kafka_bootstrap_servers, topic_name, 1)
    assert (record.partition, record.offset, record.key) == (body["partition"], 0, b"customer-1")
    assert json.loads(record.value)["id"] == body["id"]


async def test_the_fast_lane_and_the_route_answer_alike(
    kafka_settings: KafkaSettings, topic_name: str
) -> None:
    """``application/json`` takes the fast lane, ``…; charset=utf-8`` the FastAPI route."""
    app = create_app(kafka_settings, EventsTopicSettings(topic=topic_name, partitions=3))
    taken: list[bytes] = []
    fast = next(m for m in app.user_middleware if m.cls is FastJsonPost)
    handler = fast.kwargs["handler"]

    async def spying(body: bytes) -> Response | None:
        taken.append(body)
        return await handler(body)

    fast.kwargs["handler"] = spying
    async with running(app, "producer") as client:
        answers = {}
        for content_type in ("application/json", "application/json; charset=utf-8"):
            headers = {"content-type": content_type}
            ok = await client.post("/events", content=json.dumps(EVENT), headers=headers)
            bad = await client.post("/events", content=b'{"type": ""}', headers=headers)
            answers[content_type] = (ok, bad)
    assert len(taken) == 2  # the fast lane saw the two application/json requests only
    (fast_ok, fast_bad), (route_ok, route_bad) = answers.values()
    assert fast_ok.status_code == route_ok.status_code == 202
    assert fast_ok.headers["content-type"] == route_ok.headers["content-type"]
    assert fast_ok.json().keys() == route_ok.json().keys()
    # The same key: the same partition, one after the other.
    assert route_ok.json()["partition"] == fast_ok.json()["partition"]
    assert route_ok.json()["offset"] == fast_ok.json()["offset"] + 1
    assert fast_bad.status_code == route_bad.status_code == 422
    assert fast_bad.json() == route_bad.json()


async def test_allowed_topic_parameter(
    api: httpx.AsyncClient, kafka_bootstrap_servers: str, topic_name: str
) -> None:
    response = await api.post("/events", params={"topic": f"{topic_name}-audit"}, json=EVENT)
    assert response.status_code == 202
    assert response.json()["topic"] == f"{topic_name}-audit"
    assert len(await read_records(kafka_bootstrap_servers, f"{topic_name}-audit", 1)) == 1


@pytest.mark.parametrize(
    ("topic", "reason"),
    [
        ("payments", "allowed topics are"),
        ("__consumer_offsets", "internal Kafka topics"),  # allow-listed, still refused
        ("__transaction_state", "internal Kafka topics"),
        ("__anything", "internal Kafka topics"),
    ],
)
async def test_forbidden_topics_get_403(api: httpx.AsyncClient, topic: str, reason: str) -> None:
    single = await api.post("/events", params={"topic": topic}, json=EVENT)
    batch = await api.post("/events/batch", params={"topic": topic}, json=[EVENT])
    for response in (single, batch):
        assert response.status_code == 403
        assert reason in response.json()["detail"]


async def test_malformed_json_is_422(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/events", content=b'{"type": "x", ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"


async def test_schema_errors_are_422_with_every_field(api: httpx.AsyncClient) -> None:
    response = await api.post("/events", json={"type": "", "payload": [], "surprise": True})
    assert response.status_code == 422
    errors = {tuple(e["loc"][1:]): e["type"] for e in response.json()["detail"]}
    assert errors == {
        ("type",): "string_too_short",
        ("source",): "missing",
        ("payload",): "dict_type",
        ("surprise",): "extra_forbidden",
    }
    batch = await api.post("/events/batch", json=[EVENT, {"type": "t"}])
    assert batch.status_code == 422
    assert batch.json()["detail"][0]["loc"] == ["body", 1, "source"]


@pytest.mark.parametrize("mode", ["direct", "outbox"])
async def test_occurred_at_outside_a_kafka_timestamp_is_422_on_every_entry(
    kafka_settings: KafkaSettings, topic_name: str, tmp_path: Path, mode: str
) -> None:
    app = create_app(
        kafka_settings,
        EventsTopicSettings(topic=topic_name, partitions=3),
        ProducerApiSettings(delivery_mode=mode, outbox_path=str(tmp_path / "outbox.db")),
    )
    before = {**EVENT, "occurred_at": "1969-12-31T23:59:59Z"}
    far = {**EVENT, "occurred_at": "5000-01-01T00:00:00Z"}  # far, but a Kafka timestamp holds it
    async with running(app, "producer") as client:
        # The fast lane (plain application/json) and the route (with a charset) alike.
        for headers in ({}, {"content-type": "application/json; charset=utf-8"}):
            single = await client.post("/events", content=json.dumps(before), headers=headers
                                       or {"content-type": "application/json"})  # fmt: skip
            assert single.status_code == 422, single.text
            (error,) = single.json()["detail"]
            assert (error["loc"], error["type"]) == (["body", "occurred_at"], "occurred_at_range")
            assert "1970-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z" in error["msg"]
        batch = await client.post("/events/batch", json=[EVENT, before])
        assert batch.status_code == 422
        assert batch.json()["detail"][0]["loc"] == ["body", 1, "occurred_at"]
        assert (await client.post("/events", json=far)).status_code == 202
    if mode == "direct":
        records = await read_records(kafka_settings.bootstrap_servers, topic_name, 1)
        assert [json.loads(r.value)["occurred_at"][:4] for r in records] == ["5000"]


async def test_body_over_the_limit_is_413(api: httpx.AsyncClient) -> None:
    big = {**EVENT, "payload": {"blob": "x" * 5000}}
    declared = await api.post("/events", json=big)
    assert declared.status_code == 413
    assert "larger than 4096 bytes" in declared.json()["detail"]

    async def chunks() -> AsyncIterator[bytes]:
        data = json.dumps(big).encode()
        for start in range(0, len(data), 1000):
            yield data[start : start + 1000]

    # No Content-Length: the limit holds while the body streams in.
    streamed = await api.post(
        "/events", content=chunks(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", None])
async def test_unknown_content_type_is_415(
    api: httpx.AsyncClient, content_type: str | None
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    for path in ("/events", "/events/batch"):
        response = await api.post(path, content=json.dumps(EVENT).encode(), headers=headers)
        assert response.status_code == 415
        assert "send application/json" in response.json()["detail"]


async def test_json_with_charset_is_accepted(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/events",
        content=json.dumps(EVENT).encode(),
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 202


async def test_batch_over_the_count_is_413(api: httpx.AsyncClient) -> None:
    response = await api.post("/events/batch", json=[EVENT] * 6)
    assert response.status_code == 413
    assert "at most 5" in response.json()["detail"]


async def test_batch_is_answered_per_event_in_request_order(
    api: httpx.AsyncClient, kafka_bootstrap_servers: str, topic_name: str
) -> None:
    events = [{**EVENT, "key": f"k{n % 2}", "payload": {"n": n}} for n in range(5)]
    response = await api.post("/events/batch", json=events)
    assert response.status_code == 202
    body = response.json()
    assert (body["sent"], body["queued"], body["failed"]) == (5, 0, 0)
    assert [r["index"] for r in body["results"]] == [0, 1, 2, 3, 4]
    # One vocabulary: a batch item that Kafka acknowledged is "sent", as a single event is.
    assert all(r["status"] == "sent" and r["code"] == 202 for r in body["results"])
    records = {
        (r.partition, r.offset): json.loads(r.value)
        for r in await read_records(kafka_bootstrap_servers, topic_name, 5)
    }
    for n, result in enumerate(body["results"]):
        assert records[(result["partition"], result["offset"])]["payload"] == {"n": n}
        assert records[(result["partition"], result["offset"])]["id"] == result["id"]
    # Same key, same partition, in order.
    by_key = [r for r in body["results"] if records[(r["partition"], r["offset"])]["key"] == "k0"]
    assert len({r["partition"] for r in by_key}) == 1
    assert [r["offset"] for r in by_key] == sorted(r["offset"] for r in by_key)


async def test_batch_with_a_refused_event_is_207(
    kafka_settings: KafkaSettings, topic_name: str
) -> None:
    await create_topic(
        kafka_settings.bootstrap_servers, topic_name, 3, **{"max.message.bytes": "600"}
    )
    app = create_app(kafka_settings, EventsTopicSettings(topic=topic_name))
    # Kafka's limit is per record batch: the big event gets a partition (batch) of its own.
    small_key, big_key = (
        "small-1",
        next(
            f"big-{n}"
            for n in range(100)
            if key_partition(f"big-{n}".encode(), [0, 1, 2]) != key_partition(b"small-1", [0, 1, 2])
        ),
    )
    events = [
        {**EVENT, "key": small_key},
        {**EVENT, "key": big_key, "payload": {"blob": "x" * 1000}},
        {**EVENT, "key": small_key},
    ]
    async with running(app) as client:
        response = await client.post("/events/batch", json=events)
    assert response.status_code == 207
    results = response.json()["results"]
    assert [(r["status"], r["code"]) for r in results] == [
        ("sent", 202),
        ("failed", 413),
        ("sent", 202),
    ]
    assert "too large" in results[1]["error"]
    assert results[1]["partition"] is None and results[1]["offset"] is None
    assert "retry-after" not in response.headers  # too large stays too large


async def test_optional_bearer_token(kafka_settings: KafkaSettings, topic_name: str) -> None:
    app = create_app(
        kafka_settings,
        EventsTopicSettings(topic=topic_name),
        ProducerApiSettings(auth_token=SecretStr("s3cret")),
    )
    async with running(app) as client:
        missing = await client.post("/events", json=EVENT)
        wrong = await client.post("/events", json=EVENT, headers={"authorization": "Bearer nope"})
        batch = await client.post("/events/batch", json=[EVENT])
        good = await client.post("/events", json=EVENT, headers={"authorization": "Bearer s3cret"})
        health = await client.get("/health")
    assert [missing.status_code, wrong.status_code, batch.status_code] == [401, 401, 401]
    assert missing.headers["www-authenticate"] == "Bearer"
    assert good.status_code == 202
    assert health.status_code == 200  # health stays open


async def test_health_is_up_while_a_broker_answers(api: httpx.AsyncClient) -> None:
    response = await api.get("/health")
    assert (response.status_code, response.json()) == (200, {"status": "UP"})


async def test_openapi_documents_examples_for_every_endpoint(api: httpx.AsyncClient) -> None:
    spec = (await api.get("/openapi.json")).json()
    single = spec["paths"]["/events"]["post"]
    batch = spec["paths"]["/events/batch"]["post"]
    for operation in (single, batch):
        assert operation["requestBody"]["content"]["application/json"]["examples"]
        for code in ("403", "413", "415", "503"):
            assert operation["responses"][code]["content"]["application/json"]["example"]
        assert "422" in operation["responses"]
        # No token configured: no security declared, and no 401 promised.
        assert "security" not in operation and "401" not in operation["responses"]
    assert "securitySchemes" not in spec.get("components", {})
    assert set(single["requestBody"]["content"]["application/json"]["examples"]) == {
        "keyed",
        "keyless",
        "high-priority",
    }
    assert "207" in batch["responses"]
    assert spec["paths"]["/health"]["get"]["responses"]["503"]["content"]["application/json"][
        "example"
    ]


async def test_concurrent_posts_all_land(
    api: httpx.AsyncClient, kafka_bootstrap_servers: str, topic_name: str
) -> None:
    responses = await asyncio.gather(
        *(api.post("/events", json={**EVENT, "key": f"c{n}"}) for n in range(30))
    )
    assert all(r.status_code == 202 for r in responses)
    ids = {r.json()["id"] for r in responses}
    stored = {
        json.loads(r.value)["id"]
        for r in await read_records(kafka_bootstrap_servers, topic_name, 30)
    }
    assert stored == ids


async def test_prometheus_metrics_count_sends(api: httpx.AsyncClient, topic_name: str) -> None:
    assert (await api.post("/events", json=EVENT)).status_code == 202
    response = await api.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    # Exactly the one send: batched updates are added before the scrape reads them.
    assert f'kafka_template_sends_total{{result="ok",topic="{topic_name}"}} 1.0' in text
    assert f'kafka_template_send_seconds_count{{topic="{topic_name}"}} 1.0' in text


async def test_the_service_tunes_the_garbage_collector_while_it_runs(
    kafka_settings: KafkaSettings, topic_name: str
) -> None:
    before = gc.get_threshold()
    app = create_app(kafka_settings, EventsTopicSettings(topic=topic_name, partitions=1))
    async with running(app, "producer") as client:
        assert gc.get_threshold()[0] == 10_000
        assert gc.get_freeze_count() > 0
        # Many concurrent sends to one partition: more than one batch's worth of 1 KB events.
        body = {**EVENT, "payload": {"note": "x" * 1000}}
        responses = await asyncio.gather(*(client.post("/events", json=body) for _ in range(400)))
        assert [r.status_code for r in responses] == [202] * 400
        offsets = sorted(r.json()["offset"] for r in responses)
        assert offsets == list(range(offsets[0], offsets[0] + 400))
    assert gc.get_threshold() == before
