"""``./dev demo --connect``: PostgreSQL, a Kafka Connect worker, and Connect's two roles.

- **Source**: Debezium captures the ``orders`` table into ``shop.public.orders`` (the consumer
  service's ``order_changes`` listener reads it), and Debezium's outbox event router publishes
  rows of the ``outbox`` table as events on ``outbox.event.<aggregatetype>``.
- **Sink**: Debezium's JDBC sink writes ``shop.public.orders`` back into PostgreSQL as the table
  ``orders_replica`` (inserts, updates and deletes); the file sink writes the events topic to
  ``events.jsonl`` in the run's folder.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg

from kafka_kit import KafkaAdmin, KafkaSettings, NewTopic
from kafka_kit.connect import ConnectClient
from kafka_kit.local_kafka import LocalConnect, LocalKafkaCluster
from kafka_kit.local_kafka.artifacts import DEBEZIUM_JDBC_SINK, DEBEZIUM_POSTGRES
from scripts.postgres_server import postgres_server

ORDERS_TOPIC = "shop.public.orders"
OUTBOX_TOPIC = "outbox.event.order"
"""Where the outbox router puts rows whose ``aggregatetype`` is ``order``."""
REPLICA_TABLE = "orders_replica"
"""Where the JDBC sink writes the orders it reads (it creates the table from their schema)."""
CONNECTORS = ("orders-cdc", "orders-to-replica", "outbox-router", "events-to-file")
DEBEZIUM = "io.debezium.connector.postgresql.PostgresConnector"
STRINGS = "org.apache.kafka.connect.storage.StringConverter"
JSON = "org.apache.kafka.connect.json.JsonConverter"
WITH_SCHEMAS = {
    "key.converter": JSON,
    "key.converter.schemas.enable": "true",
    "value.converter": JSON,
    "value.converter.schemas.enable": "true",
}
"""JSON with each record's schema beside it: a JDBC sink needs the columns' types."""
TABLES = """
CREATE TABLE orders (id serial PRIMARY KEY, item text NOT NULL, qty int NOT NULL);
CREATE TABLE outbox (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    aggregatetype text NOT NULL,
    aggregateid text NOT NULL,
    type text NOT NULL,
    payload jsonb NOT NULL
);
"""


def _host_and_port(dsn: str) -> tuple[str, str]:
    host, port = dsn.split("@", 1)[1].split("/", 1)[0].split(":")
    return host, port


def debezium_source(dsn: str, prefix: str, table: str, slot: str) -> dict[str, str]:
    """Debezium's PostgreSQL source for ``public.<table>`` of a private server (trust auth):
    changes on ``<prefix>.public.<table>``, read through replication slot and publication
    ``slot``."""
    host, port = _host_and_port(dsn)
    return {
        "connector.class": DEBEZIUM,
        "database.hostname": host,
        "database.port": port,
        "database.user": "postgres",
        "database.password": "postgres",
        "database.dbname": "postgres",
        "plugin.name": "pgoutput",
        "topic.prefix": prefix,
        "table.include.list": f"public.{table}",
        "slot.name": slot,
        "publication.name": slot,
        "publication.autocreate.mode": "filtered",
        "tasks.max": "1",
    }


def jdbc_sink(dsn: str, topic: str, table: str) -> dict[str, str]:
    """Debezium's JDBC sink of a Debezium change topic into ``table`` of the same server: an
    insert or update is an upsert by the record's key, a delete deletes the row."""
    host, port = _host_and_port(dsn)
    return {
        "connector.class": "io.debezium.connector.jdbc.JdbcSinkConnector",
        "topics": topic,
        "connection.url": f"jdbc:postgresql://{host}:{port}/postgres",
        "connection.username": "postgres",
        "connection.password": "postgres",
        "insert.mode": "upsert",
        "primary.key.mode": "record_key",
        "delete.enabled": "true",
        # The table is created (and gains columns) from the records' schemas.
        "schema.evolution": "basic",
        "collection.name.format": table,
        "tasks.max": "1",
        **WITH_SCHEMAS,
    }


@dataclass(frozen=True)
class ConnectDemo:
    """What the demo prints and passes to the services."""

    dsn: str
    connect_url: str
    sink_file: Path

    def service_env(self) -> dict[str, str]:
        """The consumer's Connect endpoints and its CDC listener."""
        return {"CONNECT_URL": self.connect_url, "ORDER_CHANGES_TOPIC": ORDERS_TOPIC}


@contextlib.contextmanager
def connect_roles(cluster: LocalKafkaCluster, progress: object = print) -> Iterator[ConnectDemo]:
    """Start PostgreSQL and a Connect worker, declare the two sources; stop all after."""
    assert cluster.directory is not None
    say = progress if callable(progress) else print
    say("starting PostgreSQL (wal_level=logical) and a Kafka Connect worker …")
    with (
        postgres_server() as dsn,
        LocalConnect(
            cluster.bootstrap_servers,
            plugins=(DEBEZIUM_POSTGRES, DEBEZIUM_JDBC_SINK),
            group_id="demo-connect",
            replication=min(3, len(cluster.nodes)),
            directory=cluster.directory / "connect",
        ) as connect,
    ):
        demo = ConnectDemo(dsn, connect.url, cluster.directory / "events.jsonl")
        asyncio.run(_declare(demo, cluster.bootstrap_servers))
        yield demo


async def _declare(demo: ConnectDemo, bootstrap: str) -> None:
    # The topics Debezium writes to exist before anyone subscribes: a listener subscribed to a
    # missing topic would only see it at its next metadata refresh.
    await KafkaAdmin(KafkaSettings(bootstrap_servers=bootstrap)).ensure_topics(
        [NewTopic(ORDERS_TOPIC, 1), NewTopic(OUTBOX_TOPIC, 1)]
    )
    async with await psycopg.AsyncConnection.connect(demo.dsn, autocommit=True) as db:
        await db.execute(TABLES)
    async with ConnectClient(demo.connect_url) as connect:
        orders = debezium_source(demo.dsn, "shop", "orders", "demo_orders")
        await connect.put("orders-cdc", {**orders, **WITH_SCHEMAS})
        await connect.put("orders-to-replica", jdbc_sink(demo.dsn, ORDERS_TOPIC, REPLICA_TABLE))
        await connect.put(
            "outbox-router",
            {
                **debezium_source(demo.dsn, "shop-outbox", "outbox", "demo_outbox"),
                # Debezium's outbox pattern: each row becomes an event (its payload, keyed by
                # aggregateid) on outbox.event.<aggregatetype>; the row's change is not published.
                "transforms": "outbox",
                "transforms.outbox.type": "io.debezium.transforms.outbox.EventRouter",
                "value.converter": STRINGS,
            },
        )


def declare_sink(demo: ConnectDemo, events_topic: str) -> None:
    """The file sink of the events topic, once the producer service made the topic (a sink
    subscribed to a missing topic would see it only at its next metadata refresh)."""

    async def put() -> None:
        async with ConnectClient(demo.connect_url) as connect:
            await connect.put(
                "events-to-file",
                {
                    "connector.class": "org.apache.kafka.connect.file.FileStreamSinkConnector",
                    "topics": events_topic,
                    "file": str(demo.sink_file),
                    # Keys and values as the producer wrote them (text and JSON text).
                    "key.converter": STRINGS,
                    "value.converter": STRINGS,
                },
            )

    asyncio.run(put())
