"""Outbox delivery against the real broker: queued, relayed in order, once, across restarts."""

from __future__ import annotations

import json
from pathlib import Path

from event_contract.events import EventsTopicSettings
from kafka_kit import headers as h
from kafka_kit.outbox import Outbox
from kafka_kit.settings import KafkaSettings
from kafka_kit.template import KafkaTemplate
from kafka_kit.testing import wait_until
from producer_service.app import create_app
from producer_service.settings import ProducerApiSettings
from tests.app_helpers import running
from tests.kafka_helpers import create_topic, read_to_end


async def test_queued_events_are_relayed_in_order_and_counted(
    kafka_settings: KafkaSettings, topic_name: str, tmp_path: Path
) -> None:
    app = create_app(
        kafka_settings,
        EventsTopicSettings(topic=topic_name, partitions=1),
        ProducerApiSettings(delivery_mode="outbox", outbox_path=str(tmp_path / "outbox.db")),
    )
    async with running(app) as client:
        answers = []
        for n in range(20):
            response = await client.post(
                "/events", json={"type": "t", "source": "s", "key": "k", "payload": {"n": n}}
            )
            assert response.status_code == 202
            answers.append(response.json())
        batch = await client.post(
            "/events/batch",
            json=[{"type": "t", "source": "s", "payload": {"n": 20 + n}} for n in range(5)],
        )
        assert batch.status_code == 202
        assert {r["status"] for r in batch.json()["results"]} == {"queued"}
        assert (batch.json()["sent"], batch.json()["queued"], batch.json()["failed"]) == (0, 5, 0)

        async def delivered() -> bool:
            stats = (await client.get("/outbox")).json()
            return stats["delivered"] == 25 and stats["pending"] == 0

        await wait_until(delivered, 30, "the relay to deliver all 25")
        stats = (await client.get("/outbox")).json()
        assert stats["oldest_pending_age_s"] is None
    assert answers[0]["status"] == "queued"
    assert answers[0]["partition"] is None and answers[0]["offset"] is None
    records = await read_to_end(kafka_settings.bootstrap_servers, topic_name)
    assert [json.loads(r.value)["payload"]["n"] for r in records] == list(range(25))
    seqs = [int(dict(r.headers)[h.OUTBOX_SEQ]) for r in records]
    assert seqs == sorted(seqs) and len(set(seqs)) == 25


async def test_rows_survive_a_restart_and_are_not_sent_twice(
    kafka_settings: KafkaSettings, topic_name: str, tmp_path: Path
) -> None:
    await create_topic(kafka_settings.bootstrap_servers, topic_name)
    path = tmp_path / "outbox.db"
    async with KafkaTemplate(kafka_settings) as template:
        first = Outbox(path, template)
        await first.store.open()  # no relay: as if the process died before relaying
        records = [template.build_record(topic_name, {"n": n}, key="k") for n in range(10)]
        await first.store.enqueue(records)
        # Half of them reach Kafka, then the process dies before marking them delivered.
        relay = first.relay
        for row in await first.store.pending(5):
            await template.send_record(relay._tagged(row))
        await first.store.close()

        second = Outbox(path, template)
        await second.start()  # reconciles with Kafka first, then relays the rest
        try:
            await wait_until(second.relay.reconciled.is_set, 30, "the reconciliation")
            assert second.relay.recovered == 5

            async def all_delivered() -> bool:
                return (await second.store.stats()).pending == 0

            await wait_until(all_delivered, 30, "the rest delivered")
            stats = await second.store.stats()
        finally:
            await second.stop()
    assert (stats.pending, stats.delivered) == (0, 10)
    values = [
        json.loads(r.value)["n"]
        for r in await read_to_end(kafka_settings.bootstrap_servers, topic_name)
    ]
    assert values == list(range(10))  # each once, in order


async def test_outbox_endpoint_is_404_in_direct_mode(
    kafka_settings: KafkaSettings, topic_name: str
) -> None:
    app = create_app(kafka_settings, EventsTopicSettings(topic=topic_name, partitions=1))
    async with running(app) as client:
        response = await client.get("/outbox")
    assert response.status_code == 404
