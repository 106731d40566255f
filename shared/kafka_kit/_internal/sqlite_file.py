"""A SQLite file opened for durability: WAL journal, a full sync on every commit."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from kafka_kit._extras import requires_extra

with requires_extra("outbox", __name__):
    import aiosqlite

__all__ = ["SqliteFile"]


class SqliteFile:
    """Opens, closes and hands out one aiosqlite connection to ``path``.

    Args:
        path: The database file (made with its folder when missing).
        what: What it holds, for errors (``the outbox``, ``the event store``).
    """

    def __init__(self, path: str | Path, what: str) -> None:
        self.path = Path(path)
        self._what = what
        self._db: aiosqlite.Connection | None = None

    async def _open(self, schema: Sequence[str]) -> aiosqlite.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(self.path)
        await db.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
        await db.execute("PRAGMA synchronous=FULL")  # a commit survives a power cut
        for statement in schema:
            await db.execute(statement)
        await db.commit()
        self._db = db
        return db

    async def close(self) -> None:
        """Close the file."""
        db, self._db = self._db, None
        if db is not None:
            await db.close()

    def _connection(self) -> aiosqlite.Connection:
        if self._db is None:
            raise RuntimeError(f"the {self._what} is not open")
        return self._db
