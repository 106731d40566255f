"""A durable, idempotent sink for events: SQLite (a file) or PostgreSQL (a DSN).

Events are keyed by their id, so a redelivered event changes nothing. A listener that saves an
event returns only after the database committed it; only then does its container commit the
Kafka offset — a crash in between redelivers the event, and the store ignores the repeat.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID

import psycopg
from pydantic import BaseModel

from kafka_kit.sqlite_file import SqliteFile
from producer_service.events import EventDto

_COLUMNS = "id, type, source, key, payload, occurred_at, topic, partition, kafka_offset, stored_at"
_CREATE = """
CREATE TABLE IF NOT EXISTS events (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    source TEXT NOT NULL,
    key TEXT,
    payload TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    topic TEXT NOT NULL,
    partition INTEGER NOT NULL,
    kafka_offset BIGINT NOT NULL,
    stored_at TEXT NOT NULL
)
"""
_INDEX = "CREATE INDEX IF NOT EXISTS events_by_type ON events (type, stored_at)"


class StoredEvent(BaseModel):
    """An event as stored, with the Kafka coordinates it was read from."""

    event: EventDto
    topic: str
    partition: int
    offset: int
    stored_at: datetime


class EventStore(Protocol):
    """Where the consumer service keeps events, once each."""

    inserted: int
    duplicates: int

    async def open(self) -> None:
        """Connect and create the table if needed."""

    async def close(self) -> None:
        """Disconnect."""

    async def save(self, event: EventDto, *, topic: str, partition: int, offset: int) -> bool:
        """Store ``event``; ``False`` when its id was stored before (nothing changes)."""
        ...

    async def get(self, event_id: UUID) -> StoredEvent | None:
        """One event by id."""
        ...

    async def query(self, *, type: str | None = None, limit: int = 100) -> list[StoredEvent]:
        """The newest events, optionally of one type."""
        ...

    async def count(self) -> int:
        """How many events are stored."""
        ...


def _row(event: EventDto, topic: str, partition: int, offset: int) -> tuple[Any, ...]:
    return (
        str(event.id),
        event.type,
        event.source,
        event.key,
        json.dumps(event.payload, separators=(",", ":")),
        event.occurred_at.isoformat(),
        topic,
        partition,
        offset,
        datetime.now(UTC).isoformat(),
    )


def _stored(row: tuple[Any, ...]) -> StoredEvent:
    event_id, type_, source, key, payload, occurred_at, topic, partition, offset, stored_at = row
    return StoredEvent(
        event=EventDto(
            id=event_id,
            type=type_,
            source=source,
            key=key,
            payload=json.loads(payload),
            occurred_at=occurred_at,
        ),
        topic=topic,
        partition=partition,
        offset=offset,
        stored_at=stored_at,
    )


class _Counting:
    """Counts inserts and ignored repeats (redeliveries)."""

    def __init__(self) -> None:
        self.inserted = 0
        self.duplicates = 0

    def _counted(self, inserted: bool) -> bool:
        if inserted:
            self.inserted += 1
        else:
            self.duplicates += 1
        return inserted


class SqliteEventStore(_Counting, SqliteFile):
    """Events in a SQLite file."""

    def __init__(self, path: str | Path) -> None:
        _Counting.__init__(self)
        SqliteFile.__init__(self, path, "event store")

    async def open(self) -> None:
        """Open the file, creating the table."""
        await self._open((_CREATE, _INDEX))

    async def save(self, event: EventDto, *, topic: str, partition: int, offset: int) -> bool:
        """Insert unless the id exists; committed before returning."""
        db = self._connection()
        cursor = await db.execute(
            f"INSERT INTO events ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (id) DO NOTHING",
            _row(event, topic, partition, offset),
        )
        await db.commit()
        return self._counted(cursor.rowcount == 1)

    async def get(self, event_id: UUID) -> StoredEvent | None:
        """One event by id."""
        async with self._connection().execute(
            f"SELECT {_COLUMNS} FROM events WHERE id = ?", (str(event_id),)
        ) as cursor:
            row = await cursor.fetchone()
        return _stored(tuple(row)) if row else None

    async def query(self, *, type: str | None = None, limit: int = 100) -> list[StoredEvent]:
        """The newest events first."""
        where, args = ("WHERE type = ?", [type]) if type else ("", [])
        async with self._connection().execute(
            f"SELECT {_COLUMNS} FROM events {where} ORDER BY stored_at DESC LIMIT ?",
            (*args, limit),
        ) as cursor:
            return [_stored(tuple(row)) for row in await cursor.fetchall()]

    async def count(self) -> int:
        """Rows in the table."""
        async with self._connection().execute("SELECT count(*) FROM events") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0


class PostgresEventStore(_Counting):
    """Events in PostgreSQL (psycopg 3); one connection, used one statement at a time."""

    def __init__(self, dsn: str) -> None:
        super().__init__()
        self.dsn = dsn
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._lock = asyncio.Lock()

    async def open(self) -> None:
        """Connect, creating the table."""
        conn = await psycopg.AsyncConnection.connect(self.dsn, autocommit=True)
        await conn.execute(_CREATE)
        await conn.execute(_INDEX)
        self._conn = conn

    async def close(self) -> None:
        """Disconnect."""
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()

    def _connection(self) -> psycopg.AsyncConnection[Any]:
        if self._conn is None:
            raise RuntimeError("the event store is not open")
        return self._conn

    async def save(self, event: EventDto, *, topic: str, partition: int, offset: int) -> bool:
        """Insert unless the id exists (autocommit: committed when the statement returns)."""
        async with self._lock:
            cursor = await self._connection().execute(
                f"INSERT INTO events ({_COLUMNS}) VALUES "
                "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING",
                _row(event, topic, partition, offset),
            )
        return self._counted(cursor.rowcount == 1)

    async def get(self, event_id: UUID) -> StoredEvent | None:
        """One event by id."""
        async with self._lock:
            cursor = await self._connection().execute(
                f"SELECT {_COLUMNS} FROM events WHERE id = %s", (str(event_id),)
            )
            row = await cursor.fetchone()
        return _stored(tuple(row)) if row else None

    async def query(self, *, type: str | None = None, limit: int = 100) -> list[StoredEvent]:
        """The newest events first."""
        where, args = ("WHERE type = %s", [type]) if type else ("", [])
        async with self._lock:
            cursor = await self._connection().execute(
                f"SELECT {_COLUMNS} FROM events {where} ORDER BY stored_at DESC LIMIT %s",
                (*args, limit),
            )
            rows = await cursor.fetchall()
        return [_stored(tuple(row)) for row in rows]

    async def count(self) -> int:
        """Rows in the table."""
        async with self._lock:
            cursor = await self._connection().execute("SELECT count(*) FROM events")
            row = await cursor.fetchone()
        return int(row[0]) if row else 0


def event_store_for(url: str) -> EventStore:
    """``sqlite:///path`` → :class:`SqliteEventStore`; ``postgresql://…`` → Postgres."""
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresEventStore(url)
    if url.startswith("sqlite:///"):
        return SqliteEventStore(url.removeprefix("sqlite:///"))
    raise ValueError(f"an event store URL is sqlite:///path or postgresql://…, not {url!r}")
