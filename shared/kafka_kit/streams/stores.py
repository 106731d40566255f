"""Reading a running application's state stores from another thread (interactive queries).

Quix Streams has no query API of its own; its stores are RocksDB databases, safe to read while
the processing thread writes. Reads go through a store partition's own transaction type, so keys
and values are encoded exactly as the engine encodes them (the engine's version is pinned).
"""

from __future__ import annotations

from typing import Any

from quixstreams import Application
from quixstreams.state.serialization import serialize
from quixstreams.utils.json import dumps

__all__ = ["StoreReader"]


class StoreReader:
    """Values of one store of one stream, by message key and partition."""

    def __init__(self, app: Application, stream_id: str, store_name: str = "default") -> None:
        self._app = app
        self.stream_id = stream_id
        self.store_name = store_name

    def _partition(self, partition: int) -> Any | None:
        stores = self._app._state_manager.stores
        store = stores.get(self.stream_id, {}).get(self.store_name)
        return None if store is None else store.partitions.get(partition)

    def get(self, key: str, partition: int, name: str) -> Any | None:
        """The value ``name`` that the processor kept for message key ``key``; None if unset."""
        found = self._partition(partition)
        if found is None:
            return None
        return found.begin().get(name, prefix=serialize(key, dumps=dumps))

    def windows(self, key: str, partition: int) -> list[tuple[tuple[int, int], Any]]:
        """The windows (``(start_ms, end_ms)``, value) a windowed store keeps for ``key``."""
        found = self._partition(partition)
        if found is None:
            return []
        details = found.begin().get_windows(
            start_from_ms=-1, start_to_ms=2**62, prefix=serialize(key, dumps=dumps)
        )
        return [(tuple(window), value) for window, value in details]
