"""The event store on real databases: SQLite files and a real PostgreSQL server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from consumer_service.event_rows import PlacedEvent
from consumer_service.event_store import (
    EventStore,
    PostgresEventStore,
    event_store_for,
    keep_for,
)
from event_contract.events import EventDto
from kafka_kit.testing import wait_until


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[EventStore]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/events.db"
    else:
        url = request.getfixturevalue("postgres_dsn")
    opened = event_store_for(url)
    await opened.open()
    if isinstance(opened, PostgresEventStore):
        await opened._connection().execute("TRUNCATE events")
    try:
        yield opened
    finally:
        await opened.close()


async def test_save_is_idempotent_by_event_id(store: EventStore) -> None:
    event = EventDto(type="order.created", source="shop", key="k", payload={"n": [1, 2]})
    assert await store.save(event, topic="events", partition=2, offset=7) is True
    again = event.model_copy()
    assert await store.save(again, topic="events", partition=2, offset=7) is False
    assert await store.count() == 1
    assert (store.inserted, store.duplicates) == (1, 1)
    stored = await store.get(event.id)
    assert stored is not None
    assert stored.event == event
    assert (stored.topic, stored.partition, stored.offset) == ("events", 2, 7)


async def test_query_by_type_newest_first(store: EventStore) -> None:
    for n in range(5):
        kind = "a" if n % 2 == 0 else "b"
        await store.save(
            EventDto(type=kind, source="s", payload={"n": n}), topic="t", partition=0, offset=n
        )
    assert [e.event.payload["n"] for e in await store.query(type="a")] == [4, 2, 0]
    assert len(await store.query(limit=2)) == 2
    assert await store.get(EventDto(type="x", source="y").id) is None


async def test_retention_deletes_what_was_stored_before_the_cutoff(store: EventStore) -> None:
    old = [EventDto(type="t", source="s", payload={"n": n}) for n in range(3)]
    for n, event in enumerate(old):
        await store.save(event, topic="t", partition=0, offset=n)
    cutoff = datetime.now(UTC)
    kept = EventDto(type="t", source="s")
    await asyncio.sleep(0.01)
    await store.save(kept, topic="t", partition=0, offset=3)
    assert await store.delete_stored_before(cutoff) == 3
    assert await store.count() == 1 and await store.get(kept.id) is not None
    assert store.inserted == 4  # what was stored since start: retention does not undo it


async def test_the_retention_task_keeps_the_store_bounded(store: EventStore) -> None:
    await store.save(EventDto(type="t", source="s"), topic="t", partition=0, offset=0)
    pruning = asyncio.create_task(keep_for(store, retention_s=0.2, every_s=0.1))
    try:
        await wait_until(lambda: _empty(store), 10, "the old event deleted")
    finally:
        pruning.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pruning


async def _empty(store: EventStore) -> bool:
    return await store.count() == 0


async def test_sqlite_survives_reopening(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/durable.db"
    first = event_store_for(url)
    await first.open()
    event = EventDto(type="t", source="s")
    await first.save(event, topic="t", partition=0, offset=0)
    await first.close()
    second = event_store_for(url)
    await second.open()
    try:
        assert (await second.get(event.id)) is not None
        assert await second.save(event, topic="t", partition=0, offset=0) is False
    finally:
        await second.close()


def test_urls_choose_the_store() -> None:
    assert type(event_store_for("postgresql://u@h/db")).__name__ == "PostgresEventStore"
    assert type(event_store_for("sqlite:///x.db")).__name__ == "SqliteEventStore"
    with pytest.raises(ValueError, match="sqlite:///path or postgresql"):
        event_store_for("mysql://nope")


async def test_a_batch_stores_each_new_id_once_and_any_text_as_it_was(store: EventStore) -> None:
    # PostgreSQL's rows go as COPY text written by the store: tabs, newlines, backslashes and
    # a literal \N must come back as they were; an id twice in a batch, or stored before, is
    # stored once.
    awkward = "tab\there\nnew line\r\\N back\\slash \u00e9\U0001f600"
    before = EventDto(type="t", source="s")
    await store.save(before, topic="t", partition=0, offset=0)
    odd = EventDto(type=awkward, source=awkward, key=awkward, payload={"text": awkward, "n": 1})
    keyless = EventDto(type="t", source="s", key=None, payload={"quote": '"\\"'})
    batch = [
        PlacedEvent(odd, "t", 1, 1, trace_id=None),
        PlacedEvent(before, "t", 0, 0),
        PlacedEvent(keyless, "t", 2, 2, trace_id="00-abc-def-01"),
        PlacedEvent(odd.model_copy(), "t", 1, 3),  # a redelivery inside the same poll
    ]
    assert await store.save_many(batch) == {str(odd.id), str(keyless.id)}
    assert (store.inserted, store.duplicates) == (3, 2)
    assert await store.count() == 3
    got = await store.get(odd.id)
    assert got is not None and got.event == odd and (got.partition, got.offset) == (1, 1)
    assert got.trace_id is None
    other = await store.get(keyless.id)
    assert other is not None and other.event == keyless and other.trace_id == "00-abc-def-01"


async def test_an_id_committed_by_another_writer_meanwhile_is_skipped_not_an_error(
    postgres_dsn: str,
) -> None:
    # The store looks up stored ids, then COPies the rest. Another writer (a second instance)
    # that commits one of them in between makes the COPY fail on the key: the batch is then
    # stored skipping known ids row by row, and nothing fails.
    store = PostgresEventStore(postgres_dsn)
    await store.open()
    theirs, mine = EventDto(type="t", source="s"), EventDto(type="t", source="s")
    other = await psycopg.AsyncConnection.connect(postgres_dsn)
    try:
        await other.execute(
            "INSERT INTO events (id, type, source, payload, occurred_at, topic, partition, "
            "kafka_offset, stored_at) VALUES (%s, 't', 's', '{}', 'x', 't', 0, 0, 'x')",
            (str(theirs.id),),
        )  # not committed yet: invisible to the store's look-up
        saving = asyncio.create_task(
            store.save_many([PlacedEvent(theirs, "t", 0, 0), PlacedEvent(mine, "t", 0, 1)])
        )
        await wait_until(lambda: _waits_for_a_lock(postgres_dsn), 30, "the COPY waits on the key")
        await other.commit()
        assert await saving == {str(mine.id)}
        assert (store.inserted, store.duplicates) == (1, 1)
    finally:
        await other.close()
        await store.close()


async def _waits_for_a_lock(dsn: str) -> bool:
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as db:
        found = await db.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND query LIKE 'COPY events%%'"
        )
        row = await found.fetchone()
    return row is not None and row[0] > 0
