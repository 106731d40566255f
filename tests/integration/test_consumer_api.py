"""The consumer service's HTTP API over a real broker: listeners, controls, seek, health."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from consumer_service.app import create_app
from event_contract.events import EventsTopicSettings
from kafka_kit import kafka_listener
from kafka_kit.registry import ListenerRegistry
from kafka_kit.settings import KafkaSettings
from kafka_kit.testing import wait_until
from tests.app_helpers import running
from tests.kafka_helpers import CrashingOnce, create_topic, produce

Api = tuple[httpx.AsyncClient, list[int], ListenerRegistry]


@pytest.fixture
async def api(
    listener_settings: KafkaSettings, topic_name: str
) -> AsyncIterator[tuple[httpx.AsyncClient, list[int], ListenerRegistry]]:
    await create_topic(listener_settings.bootstrap_servers, topic_name)
    registry = ListenerRegistry()
    handled: list[int] = []

    @kafka_listener(
        topic_name,
        group_id=f"g-{topic_name}",
        id="audit",
        error_handler=CrashingOnce(),
        registry=registry,
    )
    async def audit(offset: int, value: bytes) -> None:
        if value == b"boom":
            raise ValueError("cannot audit this")
        handled.append(offset)

    app = create_app(
        listener_settings, EventsTopicSettings(topic=topic_name, partitions=1), registry
    )
    async with running(app, "consumer") as client:
        yield client, handled, registry


async def test_list_and_get_listeners(
    api, listener_settings: KafkaSettings, topic_name: str
) -> None:
    client, handled, _ = api
    await produce(listener_settings.bootstrap_servers, topic_name, [b"a", b"b"])
    await wait_until(lambda: len(handled) == 2, 30, "two records")
    listing = await client.get("/listeners")
    assert listing.status_code == 200
    (listener,) = listing.json()
    assert (listener["id"], listener["state"], listener["topics"]) == (
        "audit",
        "running",
        [topic_name],
    )
    one = (await client.get("/listeners/audit")).json()
    (container,) = one["containers"]
    (partition,) = container["partitions"]
    assert (partition["topic"], partition["partition"], partition["position"]) == (topic_name, 0, 2)
    assert partition["end_offset"] == 2 and partition["lag"] == 0
    assert container["metrics"]["records_handled"] == 2
    assert one["records_lag_max"] == 0


async def test_controls_by_id(api: Api, listener_settings: KafkaSettings, topic_name: str) -> None:
    client, handled, _ = api
    paused = await client.post("/listeners/audit/pause")
    assert (paused.status_code, paused.json()["state"]) == (200, "paused")
    resumed = await client.post("/listeners/audit/resume")
    assert resumed.json()["state"] == "running"
    stopped = await client.post("/listeners/audit/stop")
    assert stopped.json()["state"] == "stopped"
    assert (await client.get("/health")).status_code == 200  # stopped on purpose
    started = await client.post("/listeners/audit/start")
    assert started.json()["state"] == "running"
    await produce(listener_settings.bootstrap_servers, topic_name, [b"x"])
    await wait_until(lambda: handled == [0], 30, "a record after the restart")


async def test_seek_replays(api: Api, listener_settings: KafkaSettings, topic_name: str) -> None:
    client, handled, _ = api
    await produce(listener_settings.bootstrap_servers, topic_name, [b"a", b"b", b"c"])
    await wait_until(lambda: handled == [0, 1, 2], 30, "three records")
    response = await client.post("/listeners/audit/seek", json={"position": "beginning"})
    assert response.status_code == 202
    await wait_until(lambda: handled == [0, 1, 2, 0, 1, 2], 30, "the replay")
    response = await client.post(
        "/listeners/audit/seek",
        json={
            "position": "offset",
            "offset": 2,
            "partitions": [{"topic": topic_name, "partition": 0}],
        },
    )
    assert response.status_code == 202
    await wait_until(lambda: handled[-1:] == [2] and len(handled) == 7, 30, "offset 2 again")
    # JSON Schema's integer: 1.0 is 1 (a client that writes every number as a double).
    response = await client.post(
        "/listeners/audit/seek",
        json={
            "position": "offset",
            "offset": 1.0,
            "partitions": [{"topic": topic_name, "partition": 0.0}],
        },
    )
    assert response.status_code == 202
    await wait_until(lambda: handled[-2:] == [1, 2] and len(handled) == 9, 30, "offset 1 again")


@pytest.mark.parametrize("path", ["", "/pause", "/resume", "/start", "/stop", "/seek"])
async def test_unknown_listener_is_404(api: Api, path: str) -> None:
    client, _, _ = api
    method = client.get if path == "" else client.post
    kwargs = {"json": {"position": "end"}} if path == "/seek" else {}
    response = await method(f"/listeners/nope{path}", **kwargs)
    assert response.status_code == 404
    assert "nope" in response.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"position": "sideways"},
        {"position": "offset"},
        {"position": "offset", "offset": -1},
        {"position": "offset", "offset": 2**63},
        {"position": "timestamp", "timestamp": 2**63},
        {"position": "timestamp"},
        {"position": "end", "offset": 3},
        {"position": "beginning", "partitions": [{"topic": "t"}]},
        {"position": "beginning", "surprise": 1},
        # JSON booleans are not numbers (pydantic's lax mode would take false as 0).
        {"position": "beginning", "partitions": [{"topic": "t", "partition": False}]},
        {"position": "beginning", "partitions": [{"topic": "t", "partition": True}]},
        {"position": "offset", "offset": True},
        {"position": "timestamp", "timestamp": False},
        {"position": "offset", "offset": 1.5},
        {"position": "offset", "offset": "3"},
    ],
)
async def test_bad_seek_body_is_422(api: Api, body: dict) -> None:
    client, _, _ = api
    response = await client.post("/listeners/audit/seek", json=body)
    assert response.status_code == 422


async def test_health_turns_red_when_a_consumer_dies(
    api: Api, listener_settings: KafkaSettings, topic_name: str
) -> None:
    client, _, registry = api
    assert (await client.get("/health")).json()["status"] == "UP"
    child = registry.container("audit").children[0]
    await produce(listener_settings.bootstrap_servers, topic_name, [b"boom"])
    await wait_until(lambda: child.state.value == "failed", 30, "the crash")
    health = await client.get("/health")
    assert health.status_code == 503
    body = health.json()
    assert set(body["lag_clusters"]) == {"local"}  # shown, not judged
    assert {k: v for k, v in body.items() if k != "lag_clusters"} == {
        "status": "DOWN",
        "listeners": {"audit": "failed: RuntimeError('the error handler itself failed')"},
    }
    await wait_until(lambda: child.state.value == "running", 30, "the restart")
    assert (await client.get("/health")).status_code == 200
