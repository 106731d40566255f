"""A durable, idempotent sink for events: SQLite (a file) or PostgreSQL (a DSN).

Events are keyed by their id, so a redelivered event changes nothing. A listener that saves
events returns only after the database committed them; only then does its container commit the
Kafka offsets — a crash in between redelivers the events, and the store ignores the repeats.
A poll's events are saved together (``save_many``): one transaction, one sync to disk for the
whole batch instead of one per event (SQLite: multi-row inserts; PostgreSQL: the ids already
stored are looked up, the new rows are COPied straight into the table).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID

import psycopg
from pydantic import BaseModel

from consumer_service.event_rows import COLUMN_COUNT, COLUMNS, PlacedEvent, copy_line, rows
from event_contract.events import EventDto
from kafka_kit.outbox import SqliteFile

log = logging.getLogger(__name__)

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
    stored_at TEXT NOT NULL,
    trace_id TEXT
)
"""
_ADD_TRACE_ID = "ALTER TABLE events ADD COLUMN trace_id TEXT"
"""A table made before events carried their trace (0.6) gets the column, empty for old rows."""
_INDEX = "CREATE INDEX IF NOT EXISTS events_by_type ON events (type, stored_at)"
_BY_TIME = "CREATE INDEX IF NOT EXISTS events_by_time ON events (stored_at)"
_LINES_PER_WRITE = 20
"""COPY lines sent together: PostgreSQL starts on them while the next ones are made."""
_ROWS_PER_INSERT = 500
"""Rows per multi-row INSERT (11 parameters each: well under SQLite's 32,766)."""


class StoredEvent(BaseModel):
    """An event as stored, with the Kafka coordinates it was read from."""

    event: EventDto
    topic: str
    partition: int
    offset: int
    stored_at: datetime
    trace_id: str | None = None
    """The trace the event was sent in (W3C ``traceparent``), when it carried one."""


class EventStore(Protocol):
    """Where the consumer service keeps events, once each."""

    inserted: int
    duplicates: int
    transactions: int

    async def open(self) -> None:
        """Connect and create the table if needed."""

    async def close(self) -> None:
        """Disconnect."""

    async def save(self, event: EventDto, *, topic: str, partition: int, offset: int) -> bool:
        """Store ``event``; ``False`` when its id was stored before (nothing changes)."""
        ...

    async def save_many(self, events: Sequence[PlacedEvent]) -> set[str]:
        """Store ``events`` in one transaction; the ids stored now (others were stored before)."""
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

    async def delete_stored_before(self, cutoff: datetime) -> int:
        """Delete the events stored before ``cutoff`` (retention); how many went."""
        ...


def _parameters(events: Sequence[PlacedEvent]) -> list[Any]:
    """A multi-row INSERT's parameters, row after row."""
    return [value for row in rows(events) for value in row]


def _insert(rows: int, marker: str) -> str:
    """A multi-row INSERT of ``rows`` rows that skips ids stored before, returning the new ids."""
    row = "(" + ", ".join([marker] * COLUMN_COUNT) + ")"
    values = ", ".join([row] * rows)
    return (
        f"INSERT INTO events ({COLUMNS}) VALUES {values} ON CONFLICT (id) DO NOTHING RETURNING id"
    )


def _chunks(events: Sequence[PlacedEvent]) -> list[Sequence[PlacedEvent]]:
    return [events[i : i + _ROWS_PER_INSERT] for i in range(0, len(events), _ROWS_PER_INSERT)]


def _stored(row: tuple[Any, ...]) -> StoredEvent:
    (
        event_id,
        type_,
        source,
        key,
        payload,
        occurred_at,
        topic,
        partition,
        offset,
        stored_at,
        trace,
    ) = row
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
        trace_id=trace,
    )


class _Counting:
    """Counts inserts and ignored repeats (redeliveries); ``save`` is ``save_many`` of one."""

    def __init__(self) -> None:
        self.inserted = 0
        self.duplicates = 0
        self.transactions = 0

    async def save_many(self, events: Sequence[PlacedEvent]) -> set[str]:
        """Each store's own multi-row insert."""
        raise NotImplementedError

    async def save(self, event: EventDto, *, topic: str, partition: int, offset: int) -> bool:
        """Insert unless the id exists; committed before returning."""
        return bool(await self.save_many([PlacedEvent(event, topic, partition, offset)]))

    def _counted(self, events: Sequence[PlacedEvent], inserted: set[str]) -> set[str]:
        self.inserted += len(inserted)
        self.duplicates += len(events) - len(inserted)
        self.transactions += 1
        return inserted


class SqliteEventStore(_Counting, SqliteFile):
    """Events in a SQLite file."""

    def __init__(self, path: str | Path) -> None:
        _Counting.__init__(self)
        SqliteFile.__init__(self, path, "event store")
        # One connection, one transaction at a time: two listeners' batches must not share one.
        self._lock = asyncio.Lock()

    async def open(self) -> None:
        """Open the file, creating the table."""
        await self._open((_CREATE, _INDEX, _BY_TIME))
        db = self._connection()
        async with db.execute("PRAGMA table_info(events)") as cursor:
            columns = {row[1] for row in await cursor.fetchall()}
        if "trace_id" not in columns:
            await db.execute(_ADD_TRACE_ID)
            await db.commit()

    async def save_many(self, events: Sequence[PlacedEvent]) -> set[str]:
        """Insert the events whose ids are new, all in one transaction, committed on return."""
        db = self._connection()
        inserted: set[str] = set()
        async with self._lock:
            try:
                for chunk in _chunks(events):
                    async with db.execute(_insert(len(chunk), "?"), _parameters(chunk)) as cursor:
                        inserted.update(row[0] for row in await cursor.fetchall())
                await db.commit()
            except BaseException:
                await db.rollback()
                raise
        return self._counted(events, inserted)

    async def get(self, event_id: UUID) -> StoredEvent | None:
        """One event by id."""
        async with self._connection().execute(
            f"SELECT {COLUMNS} FROM events WHERE id = ?", (str(event_id),)
        ) as cursor:
            row = await cursor.fetchone()
        return _stored(tuple(row)) if row else None

    async def query(self, *, type: str | None = None, limit: int = 100) -> list[StoredEvent]:
        """The newest events first."""
        where, args = ("WHERE type = ?", [type]) if type else ("", [])
        async with self._connection().execute(
            f"SELECT {COLUMNS} FROM events {where} ORDER BY stored_at DESC LIMIT ?",
            (*args, limit),
        ) as cursor:
            return [_stored(tuple(row)) for row in await cursor.fetchall()]

    async def count(self) -> int:
        """Rows in the table."""
        async with self._connection().execute("SELECT count(*) FROM events") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def delete_stored_before(self, cutoff: datetime) -> int:
        """Delete the events stored before ``cutoff``, in one transaction."""
        db = self._connection()
        async with self._lock:
            cursor = await db.execute(
                "DELETE FROM events WHERE stored_at < ?", (cutoff.astimezone(UTC).isoformat(),)
            )
            await db.commit()
        return int(cursor.rowcount)


class PostgresEventStore(_Counting):
    """Events in PostgreSQL (psycopg 3); one connection, used one statement at a time."""

    def __init__(self, dsn: str) -> None:
        super().__init__()
        self.dsn = dsn
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._lock = asyncio.Lock()

    async def open(self) -> None:
        """Connect, creating the table (and this session's staging table for COPY)."""
        conn = await psycopg.AsyncConnection.connect(self.dsn, autocommit=True)
        await conn.execute(_CREATE)
        await conn.execute(_ADD_TRACE_ID.replace("COLUMN", "COLUMN IF NOT EXISTS"))
        await conn.execute(_INDEX)
        await conn.execute(_BY_TIME)
        await conn.execute(
            "CREATE TEMPORARY TABLE IF NOT EXISTS incoming_events "
            "(LIKE events INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )
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

    async def save_many(self, events: Sequence[PlacedEvent]) -> set[str]:
        """Insert the events whose ids are new, all in one transaction, committed on return."""
        ids = [str(placed.event.id) for placed in events]
        stored_at = datetime.now(UTC).isoformat()
        async with self._lock:
            conn = self._connection()
            try:
                async with conn.transaction(), conn.cursor() as cursor:
                    # One text parameter split by the server: psycopg dumps arrays id by id.
                    found = await cursor.execute(
                        "SELECT id FROM events WHERE id = ANY(string_to_array(%s, ','))",
                        (",".join(ids),),
                    )
                    stored = {row[0] for row in await found.fetchall()}
                    fresh: dict[str, PlacedEvent] = {}
                    for event_id, placed in zip(ids, events, strict=True):
                        if event_id not in stored:
                            fresh.setdefault(event_id, placed)  # the first of an id counts
                    if fresh:
                        await self._copy(cursor, "events", fresh.items(), stored_at)
                inserted = set(fresh)
            except psycopg.errors.UniqueViolation:
                # Another writer committed one of these ids after the look-up: skip known ids
                # row by row instead (COPY into a staging table, INSERT … ON CONFLICT).
                async with conn.transaction(), conn.cursor() as cursor:
                    everything = zip(ids, events, strict=True)
                    await self._copy(cursor, "incoming_events", everything, stored_at)
                    await cursor.execute(
                        f"INSERT INTO events ({COLUMNS}) SELECT {COLUMNS} FROM incoming_events "
                        "ON CONFLICT (id) DO NOTHING RETURNING id"
                    )
                    inserted = {str(row[0]) for row in await cursor.fetchall()}
        return self._counted(events, inserted)

    @staticmethod
    async def _copy(
        cursor: psycopg.AsyncCursor[Any],
        table: str,
        events: Iterable[tuple[str, PlacedEvent]],
        stored_at: str,
    ) -> None:
        # Written in pieces as they are made: PostgreSQL takes in one piece while Python makes
        # the next (the driver sends from a task of its own), instead of waiting for all.
        async with cursor.copy(f"COPY {table} ({COLUMNS}) FROM STDIN") as copy:
            piece: list[str] = []
            for event_id, placed in events:
                piece.append(copy_line(placed, event_id, stored_at))
                if len(piece) == _LINES_PER_WRITE:
                    await copy.write("".join(piece))
                    piece.clear()
            if piece:
                await copy.write("".join(piece))

    async def get(self, event_id: UUID) -> StoredEvent | None:
        """One event by id."""
        async with self._lock:
            cursor = await self._connection().execute(
                f"SELECT {COLUMNS} FROM events WHERE id = %s", (str(event_id),)
            )
            row = await cursor.fetchone()
        return _stored(tuple(row)) if row else None

    async def query(self, *, type: str | None = None, limit: int = 100) -> list[StoredEvent]:
        """The newest events first."""
        where, args = ("WHERE type = %s", [type]) if type else ("", [])
        async with self._lock:
            cursor = await self._connection().execute(
                f"SELECT {COLUMNS} FROM events {where} ORDER BY stored_at DESC LIMIT %s",
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

    async def delete_stored_before(self, cutoff: datetime) -> int:
        """Delete the events stored before ``cutoff``."""
        async with self._lock:
            cursor = await self._connection().execute(
                "DELETE FROM events WHERE stored_at < %s", (cutoff.astimezone(UTC).isoformat(),)
            )
        return int(cursor.rowcount)


async def keep_for(store: EventStore, retention_s: float, every_s: float = 60.0) -> None:
    """Delete what ``store`` holds longer than ``retention_s``, every ``every_s``, until
    cancelled (a failed round is logged; the next one tries again)."""
    while True:
        await asyncio.sleep(min(every_s, retention_s))
        try:
            gone = await store.delete_stored_before(
                datetime.now(UTC) - timedelta(seconds=retention_s)
            )
        except Exception:
            log.exception("the event store's retention failed; tried again in %.0f s", every_s)
        else:
            if gone:
                log.info("event store: %d events older than %.0f s deleted", gone, retention_s)


def event_store_for(url: str) -> EventStore:
    """``sqlite:///path`` → :class:`SqliteEventStore`; ``postgresql://…`` → Postgres."""
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresEventStore(url)
    if url.startswith("sqlite:///"):
        return SqliteEventStore(url.removeprefix("sqlite:///"))
    raise ValueError(f"an event store URL is sqlite:///path or postgresql://…, not {url!r}")


def describe_store(url: str) -> str:
    """The store's URL for people: without the password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))
