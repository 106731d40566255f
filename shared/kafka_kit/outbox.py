"""The transactional outbox: accept a write durably first, deliver it to Kafka afterwards.

``OutboxStore`` keeps records in a local SQLite file (committed before the HTTP answer); the
``OutboxRelay`` sends pending rows to Kafka in their order, through the idempotent producer, and
marks each delivered only once Kafka acknowledged it. Rows survive a restart. Each relayed record
carries ``outbox-relay``/``outbox-seq`` headers: after a crash between Kafka's acknowledgement and
the local mark, the relay finds those rows at the end of their partitions and marks them instead of
publishing them again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from aiokafka.structs import TopicPartition

from kafka_kit import headers as h
from kafka_kit._internal.cancellation import cancel_and_wait, within
from kafka_kit._internal.clients import batches_until_end, reading
from kafka_kit._internal.sqlite_file import SqliteFile
from kafka_kit.errors import KafkaSendError
from kafka_kit.template import KafkaTemplate, ProducerRecord, SendResult

__all__ = ["Outbox", "OutboxRelay", "OutboxRow", "OutboxStats", "OutboxStore", "SqliteFile"]


log = logging.getLogger(__name__)

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        topic TEXT NOT NULL,
        key BLOB,
        value BLOB,
        headers TEXT NOT NULL,
        created_at REAL NOT NULL,
        delivered_at REAL,
        partition INTEGER,
        kafka_offset INTEGER,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (delivered_at, seq)",
    "CREATE TABLE IF NOT EXISTS outbox_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
)


@dataclass(frozen=True)
class OutboxRow:
    """A record waiting in (or delivered from) the outbox."""

    seq: int
    """Its place in the outbox (sent in this order)."""
    record: ProducerRecord
    """The record to send."""
    created_at: float
    """When it was enqueued (epoch s)."""


@dataclass(frozen=True)
class OutboxStats:
    """Pending and delivered counts, and how long the oldest pending row has waited."""

    pending: int
    """Rows not delivered yet."""
    delivered: int
    """Rows Kafka acknowledged."""
    oldest_pending_age_s: float | None
    """How long the oldest pending row has waited (``None``: none pending)."""


class OutboxStore(SqliteFile):
    """The durable queue: a SQLite file, synchronous=FULL, WAL journal.

    Args:
        path: The SQLite file.
    """

    def __init__(self, path: str | Path) -> None:
        super().__init__(path, "outbox")
        self.relay_id = ""

    async def open(self) -> None:
        """Open (or create) the file; its relay id names this outbox in record headers."""
        db = await self._open(_SCHEMA)
        await db.execute(
            "INSERT OR IGNORE INTO outbox_meta (name, value) VALUES ('relay_id', ?)",
            (uuid.uuid4().hex,),
        )
        await db.commit()
        async with db.execute("SELECT value FROM outbox_meta WHERE name = 'relay_id'") as cursor:
            row = await cursor.fetchone()
        self.relay_id = str(row[0]) if row else ""

    async def enqueue(self, records: Sequence[ProducerRecord]) -> list[int]:
        """Store records durably, in one commit; their sequence numbers.

        Args:
            records: Made with ``template.build_record``.
        """
        db = self._connection()
        now = time.time()
        seqs = []
        for record in records:
            cursor = await db.execute(
                "INSERT INTO outbox (topic, key, value, headers, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    record.topic,
                    record.key,
                    record.value,
                    json.dumps([[k, v.decode("latin-1")] for k, v in record.headers]),
                    now,
                ),
            )
            seqs.append(int(cursor.lastrowid or 0))
        await db.commit()
        return seqs

    async def pending(self, limit: int) -> list[OutboxRow]:
        """The oldest undelivered rows, in order.

        Args:
            limit: At most this many.
        """
        async with self._connection().execute(
            "SELECT seq, topic, key, value, headers, created_at FROM outbox "
            "WHERE delivered_at IS NULL ORDER BY seq LIMIT ?",
            (limit,),
        ) as cursor:
            rows = await cursor.fetchall()
        return [
            OutboxRow(
                seq=seq,
                record=ProducerRecord(
                    topic=topic,
                    value=value,
                    key=key,
                    headers=tuple((k, v.encode("latin-1")) for k, v in json.loads(headers)),
                ),
                created_at=created_at,
            )
            for seq, topic, key, value, headers, created_at in rows
        ]

    async def mark_delivered(self, delivered: Sequence[tuple[int, int, int]]) -> None:
        """Mark ``(seq, partition, offset)`` rows delivered, in one commit.

        Args:
            delivered: ``(seq, partition, offset)`` of each row Kafka acknowledged.
        """
        if not delivered:
            return
        db = self._connection()
        now = time.time()
        await db.executemany(
            "UPDATE outbox SET delivered_at = ?, partition = ?, kafka_offset = ? "
            "WHERE seq = ? AND delivered_at IS NULL",
            [(now, partition, offset, seq) for seq, partition, offset in delivered],
        )
        await db.commit()

    async def note_failures(self, failures: Sequence[tuple[int, str]]) -> None:
        """Count a failed attempt for each ``(seq, error)``.

        Args:
            failures: ``(seq, error)`` of each row whose send failed.
        """
        if not failures:
            return
        db = self._connection()
        await db.executemany(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE seq = ?",
            [(error, seq) for seq, error in failures],
        )
        await db.commit()

    async def stats(self) -> OutboxStats:
        """Counts and the oldest pending row's age."""
        async with self._connection().execute(
            "SELECT count(*) FILTER (WHERE delivered_at IS NULL), "
            "count(*) FILTER (WHERE delivered_at IS NOT NULL), "
            "min(created_at) FILTER (WHERE delivered_at IS NULL) FROM outbox"
        ) as cursor:
            row = await cursor.fetchone()
        pending, delivered, oldest = row if row else (0, 0, None)
        return OutboxStats(
            pending=int(pending or 0),
            delivered=int(delivered or 0),
            oldest_pending_age_s=time.time() - oldest if oldest is not None else None,
        )


class OutboxRelay:
    """Moves pending outbox rows to Kafka, in order, marking each only once acknowledged.

    Args:
        store: The outbox's rows.
        template: Sends them.
        batch_size: Rows sent per round.
        idle_s: How long to sleep when nothing is pending (an enqueue wakes it sooner).
        retry_s: The pause after a failed round.
    """

    def __init__(
        self,
        store: OutboxStore,
        template: KafkaTemplate,
        *,
        batch_size: int = 200,
        idle_s: float = 0.5,
        retry_s: float = 1.0,
    ) -> None:
        self.store = store
        self.template = template
        self.batch_size = batch_size
        self.idle_s = idle_s
        self.retry_s = retry_s
        self.recovered = 0
        self.reconciled = asyncio.Event()
        """Set once the rows Kafka already has were found (relaying starts after)."""
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """New rows are waiting: relay now instead of at the next idle tick."""
        self._wake.set()

    async def start(self) -> None:
        """Relay in the background: first reconcile with Kafka (rows delivered before a crash),
        retried until Kafka answers — starting never waits for Kafka."""
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        """Stop relaying (what is pending stays in the outbox)."""
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def _run(self) -> None:
        # Nothing is sent before the rows already in Kafka are known: they would be sent twice.
        while True:
            try:
                self.recovered = await self._reconcile()
                self.reconciled.set()
                break
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - Kafka away: try again, rows wait
                log.warning("outbox relay: reconciling with Kafka failed, retrying: %r", exc)
                await asyncio.sleep(self.retry_s)
        while True:
            try:
                delivered_all = await self.relay_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox relay round failed")
                delivered_all = False
            if delivered_all:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await within(self._wake.wait(), self.idle_s)
            else:
                await asyncio.sleep(self.retry_s)

    async def relay_once(self) -> bool:
        """Send one batch of pending rows; ``True`` when nothing failed."""
        rows = await self.store.pending(self.batch_size)
        if not rows:
            return True
        outcomes = await self.template.send_records([(self._tagged(row), None) for row in rows])
        delivered: list[tuple[int, int, int]] = []
        failures: list[tuple[int, str]] = []
        for row, outcome in zip(rows, outcomes, strict=True):
            if isinstance(outcome, SendResult):
                delivered.append((row.seq, outcome.partition, outcome.offset))
            else:
                failures.append((row.seq, str(outcome)))
        await self.store.mark_delivered(delivered)
        await self.store.note_failures(failures)
        if failures:
            first = next(o for o in outcomes if isinstance(o, KafkaSendError))
            log.warning("outbox relay: %d of %d not delivered: %s", len(failures), len(rows), first)
        return not failures

    def _tagged(self, row: OutboxRow) -> ProducerRecord:
        record = row.record
        return ProducerRecord(
            topic=record.topic,
            value=record.value,
            key=record.key,
            headers=(
                *record.headers,
                (h.OUTBOX_RELAY, self.store.relay_id.encode()),
                (h.OUTBOX_SEQ, str(row.seq).encode()),
            ),
        )

    async def _reconcile(self) -> int:
        """Mark pending rows found at the end of their partitions (sent, crash before marking)."""
        rows = await self.store.pending(self.batch_size * 10)
        if not rows:
            return 0
        wanted = {row.seq for row in rows}
        found = await self._relayed_tail({row.record.topic for row in rows}, wanted)
        await self.store.mark_delivered(found)
        if found:
            log.info("outbox relay: %d rows were already in Kafka; marked", len(found))
        return len(found)

    async def _relayed_tail(self, topics: set[str], wanted: set[int]) -> list[tuple[int, int, int]]:
        settings = self.template.settings
        found: list[tuple[int, int, int]] = []
        client_id = f"{settings.client_id}-outbox-reconcile"
        async with reading(settings, client_id, "outbox reconciliation") as consumer:
            tps = []
            for topic in topics:
                partitions = await self.template.partitions_for(topic)
                tps += [TopicPartition(topic, p) for p in partitions]
            consumer.assign(tps)
            timeout_s = settings.request_timeout_ms / 1000
            ends = await within(consumer.end_offsets(tps), timeout_s)
            starts = await within(consumer.beginning_offsets(tps), timeout_s)
            # A crash leaves at most one batch unmarked: look a few batches back.
            for tp in tps:
                consumer.seek(tp, max(starts[tp], ends[tp] - 4 * self.batch_size))
            relay = self.store.relay_id
            async for batch in batches_until_end(consumer, tps, timeout_s):
                for record in batch:
                    if h.header(record.headers, h.OUTBOX_RELAY) != relay:
                        continue
                    seq = int(h.header(record.headers, h.OUTBOX_SEQ) or -1)
                    if seq in wanted:
                        found.append((seq, record.partition, record.offset))
        return found


class Outbox:
    """The store and its relay together: ``enqueue`` commits and wakes the relay.

    Args:
        path: The outbox's SQLite file.
        template: Sends the rows to Kafka.
        relay: The relay's ``batch_size``, ``idle_s`` and ``retry_s``.
    """

    def __init__(self, path: str | Path, template: KafkaTemplate, **relay: float) -> None:
        self.template = template
        self.store = OutboxStore(path)
        self.relay = OutboxRelay(self.store, template, **relay)  # type: ignore[arg-type]

    async def start(self) -> None:
        """Open the file, reconcile with Kafka, start relaying."""
        await self.store.open()
        await self.relay.start()

    async def stop(self) -> None:
        """Stop relaying and close the file."""
        await self.relay.stop()
        await self.store.close()

    async def enqueue(self, records: Sequence[ProducerRecord]) -> list[int]:
        """Commit records to the outbox (durable when this returns) and wake the relay.

        Args:
            records: Made with ``template.build_record``; sent in this order. With the
                template's tracing on, each carries the current trace context, so the relay's
                send continues the trace of the request that queued it.
        """
        tracing = self.template.tracing
        if tracing is not None:
            records = [tracing.stamped(record) for record in records]
        seqs = await self.store.enqueue(records)
        self.relay.wake()
        return seqs
