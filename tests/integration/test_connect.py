"""Kafka Connect on the real broker: distributed failover, standalone offsets, validation, CDC."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import psycopg
import pytest

from consumer_service.app import create_app
from event_contract.events import EventDto, EventsTopicSettings
from kafka_kit import KafkaAdmin, KafkaSettings, LagSettings, ListenerRegistry
from kafka_kit.cluster_view import describe_groups
from kafka_kit.connect import (
    ConnectClient,
    ConnectorConfigError,
    ConnectorFailedError,
    ConnectorStatus,
    ConnectSettings,
)
from kafka_kit.lag.monitor import ClusterLagMonitor
from kafka_kit.local_kafka.artifacts import DEBEZIUM_JDBC_SINK, DEBEZIUM_POSTGRES
from kafka_kit.local_kafka.connect import LocalConnect
from kafka_kit.testing import wait_until
from scripts.demo_connect import WITH_SCHEMAS, debezium_source, jdbc_sink
from tests.app_helpers import running
from tests.kafka_helpers import create_topic, produce, read_to_end

FILE_SOURCE = "org.apache.kafka.connect.file.FileStreamSourceConnector"
FILE_SINK = "org.apache.kafka.connect.file.FileStreamSinkConnector"


def _append(path: Path, lines: list[str]) -> None:
    with path.open("a") as file:
        file.writelines(f"{line}\n" for line in lines)


async def _lines_in(bootstrap: str, topic: str) -> list[str]:
    return [json.loads(r.value) for r in await read_to_end(bootstrap, topic) if r.value]


async def _running(client: ConnectClient, name: str) -> ConnectorStatus | None:
    try:
        status = await client.status(name)
    except Exception:  # noqa: BLE001  # a worker may be down or rebalancing: ask again
        return None
    running = status.connector.state == "RUNNING" and status.tasks
    return status if running and all(t.state == "RUNNING" for t in status.tasks) else None


async def test_a_killed_workers_task_moves_to_the_other_and_no_line_is_lost(
    kafka_bootstrap_servers: str, topic_name: str, tmp_path: Path
) -> None:
    bootstrap = kafka_bootstrap_servers
    await create_topic(bootstrap, topic_name, partitions=1)
    source = tmp_path / "lines.txt"
    first = [f"line-{n}" for n in range(100)]
    _append(source, first)
    with LocalConnect(
        bootstrap, workers=2, group_id=f"connect-{topic_name}", replication=1
    ) as connect:
        clients = [ConnectClient(url) for url in connect.urls]
        config = {"connector.class": FILE_SOURCE, "file": str(source), "topic": topic_name}
        await clients[0].put("lines", {**config, "tasks.max": "1"})
        await clients[0].wait_running("lines", 60)
        await wait_until(
            lambda: _has(bootstrap, topic_name, first), 60, "the first 100 lines in the topic"
        )
        status = await clients[0].status("lines")
        (task,) = status.tasks
        doomed = next(w for w in connect.nodes if w.worker_id == task.worker_id)
        survivor = clients[1 - doomed.index]
        doomed.kill()  # kill -9: no goodbye to the group, offsets not flushed
        second = [f"line-{n}" for n in range(100, 200)]
        _append(source, second)

        async def moved() -> bool:
            status = await _running(survivor, "lines")
            return status is not None and status.tasks[0].worker_id != doomed.worker_id

        await wait_until(moved, 90, "the task running on the other worker")
        await wait_until(
            lambda: _has(bootstrap, topic_name, first + second), 60, "every line in the topic"
        )
        for client in clients:
            await client.close()
    got = await _lines_in(bootstrap, topic_name)
    assert set(got) == set(first + second)  # none lost; a line read twice is at-least-once


async def _has(bootstrap: str, topic: str, lines: list[str]) -> bool:
    return set(lines) <= set(await _lines_in(bootstrap, topic))


async def test_a_standalone_worker_resumes_from_its_offsets_file(
    kafka_bootstrap_servers: str, topic_name: str, tmp_path: Path
) -> None:
    bootstrap = kafka_bootstrap_servers
    await create_topic(bootstrap, topic_name, partitions=1)
    source = tmp_path / "lines.txt"
    _append(source, [f"a-{n}" for n in range(10)])
    config = {"connector.class": FILE_SOURCE, "file": str(source), "topic": topic_name}
    with LocalConnect(bootstrap, mode="standalone", directory=tmp_path / "connect") as connect:
        async with ConnectClient(connect.url) as client:
            await client.put("lines", config)
            await wait_until(lambda: _count_is(bootstrap, topic_name, 10), 60, "the first 10 lines")
        worker = connect.nodes[0]
        worker.stop()  # SIGTERM: the source's offsets are flushed to the offsets file
        assert connect.offsets_file is not None and connect.offsets_file.stat().st_size > 0
        _append(source, [f"b-{n}" for n in range(5)])
        connect.restart(worker)
        async with ConnectClient(connect.url) as client:
            # A standalone worker keeps offsets, not connectors: the same one is declared again.
            await client.put("lines", config)
            await wait_until(lambda: _count_is(bootstrap, topic_name, 15), 60, "5 more lines")
            offsets = await client.offsets("lines")
            got = await _lines_in(bootstrap, topic_name)
            # Offsets reset (the connector stopped first, as Connect requires): read again.
            await client.stop("lines")
            await wait_until(lambda: _state_is(client, "lines", "STOPPED"), 30, "stopped")
            reset = await client.reset_offsets("lines")
            await client.resume("lines")
            await wait_until(lambda: _count_is(bootstrap, topic_name, 30), 60, "all 15 again")
    assert got == [f"a-{n}" for n in range(10)] + [f"b-{n}" for n in range(5)]
    assert offsets and offsets[0]["offset"]["position"] > 0
    assert "reset" in reset.lower()
    assert await _lines_in(bootstrap, topic_name) == got + got


async def _state_is(client: ConnectClient, name: str, state: str) -> bool:
    return (await client.status(name)).connector.state == state


async def _count_is(bootstrap: str, topic: str, count: int) -> bool:
    return len(await _lines_in(bootstrap, topic)) >= count


async def test_a_bad_connector_config_is_refused_with_connects_messages(
    kafka_bootstrap_servers: str, tmp_path: Path
) -> None:
    with LocalConnect(kafka_bootstrap_servers, mode="standalone", directory=tmp_path) as connect:
        async with ConnectClient(connect.url) as client:
            with pytest.raises(ConnectorConfigError) as refused:
                await client.put("no-topics", {"connector.class": FILE_SINK, "file": "/tmp/x"})
            assert await client.connectors() == []
    assert "topics" in str(refused.value)
    assert any("topics" in name for name in refused.value.errors)


def _debezium(dsn: str, prefix: str, table: str, suffix: str) -> dict[str, str]:
    return debezium_source(dsn, prefix, table, f"slot_{suffix}")


async def _count(bootstrap: str, topic: str, count: int) -> bool:
    try:
        return len(await read_to_end(bootstrap, topic, timeout_s=5)) >= count
    except Exception:  # noqa: BLE001  # the topic appears with the first change
        return False


async def test_debezium_captures_inserts_updates_and_deletes_in_order_per_key(
    kafka_bootstrap_servers: str, postgres_dsn: str, topic_name: str, tmp_path: Path
) -> None:
    table = f"orders_{topic_name[-8:]}"
    prefix = f"cdc-{topic_name[-8:]}"
    async with await psycopg.AsyncConnection.connect(postgres_dsn, autocommit=True) as db:
        await db.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, item text, qty int)")
        await db.execute(f"ALTER TABLE {table} REPLICA IDENTITY FULL")
    config = _debezium(postgres_dsn, prefix, table, topic_name[-8:])
    topic = f"{prefix}.public.{table}"
    with LocalConnect(
        kafka_bootstrap_servers, workers=1, group_id=f"cdc-{topic_name}", replication=1
    ) as connect:
        async with ConnectClient(connect.url) as client:
            await client.put("orders-cdc", config)
            await client.wait_running("orders-cdc", 90)
            async with await psycopg.AsyncConnection.connect(postgres_dsn, autocommit=True) as db:
                await db.execute(f"INSERT INTO {table} VALUES (1, 'item-1', 1)")
                # RUNNING comes before the replication slot streams: the first row shows when
                # it does (as a change, or in the initial snapshot if it came first).
                await wait_until(lambda: _count(kafka_bootstrap_servers, topic, 1), 90, "row 1")
                for n in (2, 3):
                    await db.execute(f"INSERT INTO {table} VALUES ({n}, 'item-{n}', {n})")
                await db.execute(f"UPDATE {table} SET qty = 20 WHERE id = 2")
                await db.execute(f"DELETE FROM {table} WHERE id = 1")

            await wait_until(
                lambda: _count(kafka_bootstrap_servers, topic, 6),
                90,
                "6 change records (3 inserts, 1 update, 1 delete, 1 tombstone)",
            )
            await client.delete("orders-cdc")
    records = await read_to_end(kafka_bootstrap_servers, topic)
    by_key: dict[int, list[str]] = {}
    for record in records:
        key = json.loads(record.key)["id"]
        op = "tombstone" if record.value is None else json.loads(record.value)["op"]
        by_key.setdefault(key, []).append(op)
    first, *rest = by_key[1]
    assert first in ("c", "r") and rest == ["d", "tombstone"]
    assert by_key[2] == ["c", "u"] and by_key[3] == ["c"]
    update = next(
        json.loads(r.value) for r in records if r.value and json.loads(r.value)["op"] == "u"
    )
    assert (update["before"]["qty"], update["after"]["qty"]) == (2, 20)


async def test_the_consumer_service_manages_a_sink_that_writes_events_to_a_file(
    listener_settings: KafkaSettings, topic_name: str, tmp_path: Path
) -> None:
    bootstrap = listener_settings.bootstrap_servers
    await create_topic(bootstrap, topic_name, partitions=1)
    events = [EventDto(type="order.created", source="shop", key=f"c{n}") for n in range(5)]
    for event in events:  # keyed as the producer service keys them (plain text)
        await produce(bootstrap, topic_name, [event.model_dump_json().encode()], key=b"k")
    out = tmp_path / "events.jsonl"
    with LocalConnect(bootstrap, mode="standalone", directory=tmp_path / "connect") as connect:
        app = create_app(
            listener_settings,
            EventsTopicSettings(topic=topic_name, partitions=1),
            ListenerRegistry(),
            connect=ConnectSettings(url=connect.url),
        )
        async with running(app, "consumer") as http:
            sink = {
                "connector.class": FILE_SINK,
                "topics": topic_name,
                "file": str(out),
                # Each event's JSON as it is (the worker's JSON converter would parse it into a
                # map, which the file sink prints the Java way).
                "key.converter": "org.apache.kafka.connect.storage.StringConverter",
                "value.converter": "org.apache.kafka.connect.storage.StringConverter",
            }
            created = await http.put("/connect/connectors/events-to-file", json=sink)
            assert created.status_code == 200, created.text

            async def written() -> bool:
                lines = out.read_text().splitlines() if out.exists() else []
                return len(lines) == len(events)

            await wait_until(written, 60, "every event in the file")
            listed = (await http.get("/connect/connectors")).json()
            assert [c["name"] for c in listed] == ["events-to-file"]
            assert listed[0]["tasks"][0]["worker_id"] == connect.nodes[0].worker_id
            paused = await http.post("/connect/connectors/events-to-file/pause")
            assert paused.status_code == 200

            async def is_paused() -> bool:
                answer = await http.get("/connect/connectors/events-to-file")
                return bool(answer.json()["status"]["connector"]["state"] == "PAUSED")

            await wait_until(is_paused, 30, "the sink paused")
            # Offsets change only while a connector is stopped (Connect refuses otherwise).
            early = await http.delete("/connect/connectors/events-to-file/offsets")
            await http.post("/connect/connectors/events-to-file/stop")

            async def is_stopped() -> bool:
                answer = await http.get("/connect/connectors/events-to-file")
                return bool(answer.json()["status"]["connector"]["state"] == "STOPPED")

            await wait_until(is_stopped, 30, "the sink stopped")
            reset = await http.delete("/connect/connectors/events-to-file/offsets")
            bad = await http.put(
                "/connect/connectors/bad", json={"connector.class": FILE_SINK, "file": "/tmp/x"}
            )
            missing = await http.get("/connect/connectors/no-such-connector")
            deleted = await http.delete("/connect/connectors/events-to-file")
    # The sink wrote each event as its JSON (schemaless): the same events, in order.
    written_ids = [json.loads(line)["id"] for line in out.read_text().splitlines()]
    assert written_ids == [str(e.id) for e in events]
    assert bad.status_code == 422 and any("topics" in k for k in bad.json()["errors"])
    assert missing.status_code == 404 and "no-such-connector" in missing.json()["detail"]
    assert deleted.status_code == 204
    assert early.status_code == 400 and "stopped" in early.json()["detail"].lower()
    assert reset.status_code == 200 and "reset" in reset.json()["message"].lower()


async def test_debezium_in_a_group_of_two_loses_no_change_when_its_worker_is_killed(
    kafka_bootstrap_servers: str, postgres_dsn: str, topic_name: str
) -> None:
    bootstrap = kafka_bootstrap_servers
    suffix = f"f{topic_name[-8:]}"
    table, prefix = f"orders_{suffix}", f"cdc-{suffix}"
    topic = f"{prefix}.public.{table}"
    async with await psycopg.AsyncConnection.connect(postgres_dsn, autocommit=True) as db:
        await db.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, qty int)")
        with LocalConnect(
            bootstrap, workers=2, group_id=f"cdc2-{suffix}", replication=1
        ) as connect:
            clients = [ConnectClient(url) for url in connect.urls]
            await clients[0].put("orders", _debezium(postgres_dsn, prefix, table, suffix))
            await clients[0].wait_running("orders", 90)
            await db.execute(f"INSERT INTO {table} VALUES (0, 0)")
            await wait_until(lambda: _count(bootstrap, topic, 1), 90, "streaming")
            for n in range(1, 50):
                await db.execute(f"INSERT INTO {table} VALUES ({n}, {n})")
            # Its position (the replication slot's LSN) is committed: the next task resumes it.
            await wait_until(lambda: clients[0].offsets("orders"), 60, "an offset committed")
            (task,) = (await clients[0].status("orders")).tasks
            doomed = next(w for w in connect.nodes if w.worker_id == task.worker_id)
            survivor = clients[1 - doomed.index]
            doomed.kill()
            # Changes while no worker runs the task: the replication slot keeps them.
            for n in range(50, 100):
                await db.execute(f"INSERT INTO {table} VALUES ({n}, {n})")
            await db.execute(f"UPDATE {table} SET qty = -1 WHERE id < 10")

            async def moved() -> bool:
                status = await _running(survivor, "orders")
                return status is not None and status.tasks[0].worker_id != doomed.worker_id

            await wait_until(moved, 120, "the task running on the other worker")
            await wait_until(lambda: _count(bootstrap, topic, 110), 120, "every change")
            for client in clients:
                await client.close()
        rows = dict(await (await db.execute(f"SELECT id, qty FROM {table}")).fetchall())
    changes = [json.loads(r.value) for r in await read_to_end(bootstrap, topic) if r.value]
    latest = {c["after"]["id"]: c["after"]["qty"] for c in changes}  # in order per key
    # Every row, in its last state, and each change once or more (at-least-once): none lost.
    assert len(rows) == 100 and latest == rows
    assert {c["after"]["id"] for c in changes if c["op"] == "u"} == set(range(10))


async def test_the_jdbc_sink_replicates_a_table_and_every_group_stays_described(
    kafka_bootstrap_servers: str, postgres_dsn: str
) -> None:
    # PostgreSQL → Debezium → Kafka → Debezium's JDBC sink → PostgreSQL: the replica follows
    # inserts, updates and deletes. The worker group (protocol "connect", its assignment not a
    # consumer's) sits beside the sink's consumer group: describing groups, /cluster and the lag
    # monitor must still see every group.
    suffix = uuid.uuid4().hex[:8]
    table, prefix = f"orders_{suffix}", f"jdbc{suffix}"
    topic = f"{prefix}.public.{table}"
    async with await psycopg.AsyncConnection.connect(postgres_dsn, autocommit=True) as db:
        await db.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, item text, qty int)")
    settings = KafkaSettings(bootstrap_servers=kafka_bootstrap_servers)
    monitor = ClusterLagMonitor("local", settings, LagSettings(window=4, offset_refresh_s=0.3))
    with LocalConnect(
        kafka_bootstrap_servers,
        group_id=f"connect-{suffix}",
        plugins=(DEBEZIUM_POSTGRES, DEBEZIUM_JDBC_SINK),
    ) as connect:
        async with ConnectClient(connect.url) as client:
            source = debezium_source(postgres_dsn, prefix, table, f"jdbc_{suffix}")
            await client.put("source", {**source, **WITH_SCHEMAS})
            await client.put("replica", jdbc_sink(postgres_dsn, topic, f"{table}_replica"))
            await client.wait_running("source", 120)
            status = await client.wait_running("replica", 120)
            assert status.type == "sink"
            async with await psycopg.AsyncConnection.connect(postgres_dsn, autocommit=True) as db:
                await db.execute(f"INSERT INTO {table} VALUES (1, 'book', 1), (2, 'pen', 5)")
                await db.execute(f"UPDATE {table} SET qty = 2 WHERE id = 1")
                await db.execute(f"DELETE FROM {table} WHERE id = 2")

                async def replica_follows() -> bool:
                    try:
                        found = await db.execute(f"SELECT * FROM {table}_replica ORDER BY id")
                    except psycopg.errors.UndefinedTable:  # the sink creates it on first write
                        return False
                    return await found.fetchall() == [(1, "book", 2)]

                await wait_until(replica_follows, 90, "the replica follows")
            async with KafkaAdmin(settings).client() as admin:
                groups = await describe_groups(admin, [f"connect-{suffix}", "connect-replica"])
            kinds = {g.group_id: (g.protocol_type, bool(g.members)) for g in groups}
            assert kinds == {
                f"connect-{suffix}": ("connect", True),
                "connect-replica": ("consumer", True),
            }
            await monitor.start()
            try:
                await wait_until(
                    lambda: _caught_up(monitor, "connect-replica"), 60, "the sink's lag seen"
                )
            finally:
                await monitor.stop()
            # A sink that cannot reach its database fails, and says so at once.
            nowhere = jdbc_sink("postgresql://postgres@127.0.0.1:1/postgres", topic, "nowhere")
            await client.put("unreachable", nowhere)
            with pytest.raises(ConnectorFailedError, match="unreachable failed on"):
                await client.wait_running("unreachable", 120)


def _caught_up(monitor: ClusterLagMonitor, group: str) -> bool:
    lag = monitor.group_lag(group)
    return monitor.state == "running" and lag is not None and lag.total_lag == 0
