"""The broker dies mid-run: 503/504 + Retry-After, no 202'd event lost, quick refusals."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest

from event_contract.events import EventsTopicSettings
from kafka_kit.local_kafka import LocalKafkaCluster
from kafka_kit.local_kafka.cluster import free_ports
from kafka_kit.settings import KafkaSettings, ProducerSettings
from kafka_kit.testing import wait_until
from producer_service.app import create_app
from producer_service.settings import ProducerApiSettings
from tests.app_helpers import running, service_process
from tests.kafka_helpers import read_to_end


@pytest.fixture
def own_broker() -> Iterator[LocalKafkaCluster]:
    # This test kills its broker: it gets one of its own, not the session's.
    with LocalKafkaCluster(1) as cluster:
        yield cluster


async def test_outage_answers_503_or_504_and_every_202_is_stored(
    own_broker: LocalKafkaCluster,
) -> None:
    settings = KafkaSettings(
        bootstrap_servers=own_broker.bootstrap_servers,
        request_timeout_ms=3000,
        producer=ProducerSettings(delivery_timeout_ms=3000),
    )
    app = create_app(
        settings,
        EventsTopicSettings(topic="outage", partitions=3),
        ProducerApiSettings(retry_after_s=2),
    )
    accepted: list[str] = []
    answers: list[httpx.Response] = []
    statuses: Counter[int] = Counter()

    async with running(app) as client:

        async def keep_posting() -> None:
            n = 0
            while True:
                n += 1
                event = {"type": "tick", "source": "outage-test", "payload": {"n": n}}
                response = await client.post("/events", json=event)
                statuses[response.status_code] += 1
                answers.append(response)
                if response.status_code == 202:
                    accepted.append(response.json()["id"])
                await asyncio.sleep(0.02)

        poster = asyncio.create_task(keep_posting())
        try:
            await wait_until(lambda: len(accepted) >= 20, 30, "20 events before the outage")
            await asyncio.to_thread(own_broker.kill_node, 1)
            before_outage = len(accepted)
            await wait_until(
                lambda: statuses[503] + statuses[504] >= 3, 60, "failures during the outage"
            )
            health = await client.get("/health")
            assert (health.status_code, health.json()["status"]) == (503, "DOWN")
            batch = await client.post("/events/batch", json=[{"type": "t", "source": "s"}] * 3)
            assert batch.status_code in (503, 504)
            assert batch.headers["retry-after"] == "2"
            assert {r["code"] for r in batch.json()["results"]} <= {503, 504}

            await asyncio.to_thread(own_broker.start_node, 1)
            await wait_until(
                lambda: len(accepted) >= before_outage + 20, 90, "20 events after the restart"
            )
        finally:
            poster.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poster
        assert (await client.get("/health")).status_code == 200

    assert set(statuses) <= {202, 503, 504}, statuses
    for response in answers:
        if response.status_code in (503, 504):
            assert response.headers["retry-after"] == "2"
            assert response.json()["id"]  # what a retry must reuse
        if response.status_code == 504:  # handed to the producer, not acknowledged in time
            assert "outcome is unknown" in response.json()["detail"]
    # Once a timed-out write made the template probe the cluster and find it away, the writes
    # after it were refused at once — handed over to nobody, so certainly not written: 503.
    fast = [r for r in answers if r.status_code == 503 and "unreachable" in r.json()["detail"]]
    assert fast, statuses
    # Every event answered 202 is in Kafka. (A 504'd event may be there too: the producer kept
    # it and wrote it when the broker came back; clients retry with its id, readers dedupe.)
    records = await read_to_end(own_broker.bootstrap_servers, "outage", timeout_s=60)
    stored = {json.loads(record.value)["id"] for record in records}
    assert set(accepted) <= stored


async def test_with_kafka_away_writes_fail_fast_logs_stay_short_and_ctrl_c_is_quick(
    own_broker: LocalKafkaCluster,
) -> None:
    (port,) = free_ports(1)
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": own_broker.bootstrap_servers,
        "EVENTS_TOPIC": "away",
        "EVENTS_PARTITIONS": "1",
        "KAFKA_PRODUCER_DELIVERY_TIMEOUT_MS": "3000",
        "PYTHONUNBUFFERED": "1",
    }
    server = service_process("producer_service.main", port, env, output=True)
    base = f"http://127.0.0.1:{port}"
    answers: Counter[int] = Counter()
    try:
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:

            async def up() -> bool:
                assert server.poll() is None, "the service exited"
                try:
                    return (await client.get("/health")).status_code == 200
                except httpx.HTTPError:
                    return False

            await wait_until(up, 90, "the producer service up", interval_s=0.3)
            event = {"type": "t", "source": "s"}
            assert (await client.post("/events", json=event)).status_code == 202
            own_broker.kill_node(1)

            async def refused_at_once() -> bool:
                # Keep writing until the service knows Kafka is away and refuses on the spot.
                answer = await client.post("/events", json=event)
                answers[answer.status_code] += 1
                return answer.status_code == 503 and "unreachable" in answer.json()["detail"]

            await wait_until(refused_at_once, 60, "writes refused at once", interval_s=0.2)
            for _ in range(20):  # many writes while Kafka is away: each refused, none waits
                answer = await client.post("/events", json=event)
                answers[answer.status_code] += 1
                assert answer.status_code == 503, answer.text
    finally:
        server.send_signal(signal.SIGINT)  # Ctrl-C with Kafka away
        # Bounded: well below the delivery and request timeouts a stop used to wait for.
        output, _ = await asyncio.to_thread(server.communicate, timeout=20)
    assert server.returncode == 0, output[-3000:]
    reconnects = [line for line in output.splitlines() if "Unable connect" in line]
    # aiokafka tries to reconnect many times a second; condensed, one line per broker and kind.
    assert len(reconnects) <= 3, "\n".join(reconnects[:20])
    assert set(answers) <= {503, 504}, answers
