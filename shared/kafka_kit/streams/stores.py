"""Reading a running application's state stores from another thread (interactive queries).

Quix Streams has no query API of its own; its stores are RocksDB databases, safe to read while
the processing thread writes. Reads go through a store partition's own transaction type, so keys
and values are encoded exactly as the engine encodes them (the engine's version is pinned).
"""

from __future__ import annotations

from typing import Any, Protocol

from quixstreams.state.serialization import serialize

from kafka_kit.streams._engine import Application, dumps


class _Running(Protocol):
    """Whatever runs engines (a :class:`StreamsApplication`): its engine now, ``app``."""

    @property
    def app(self) -> Application: ...


__all__ = ["StoreReader"]


class StoreReader:
    """Values of one store of one stream, by message key and partition.

    Given the :class:`StreamsApplication`, it reads whichever engine runs now (a restart makes a
    new one); given an engine, that engine's.

    Args:
        app: The supervised application (or one engine).
        stream_id: The dataframe's stream id (``sdf.stream_id``).
        store_name: The store (``default`` unless the topology named it).
    """

    def __init__(
        self, app: Application | _Running, stream_id: str, store_name: str = "default"
    ) -> None:
        self._source = app
        self.stream_id = stream_id
        self.store_name = store_name

    def _partitions(self, partition: int | None) -> list[Any]:
        source = self._source
        engine = source if isinstance(source, Application) else source.app
        stores = engine._state_manager.stores
        store = stores.get(self.stream_id, {}).get(self.store_name)
        if store is None:
            return []
        held = dict(store.partitions)  # a copy: a rebalance may change it meanwhile
        if partition is None:
            return list(held.values())
        return [held[partition]] if partition in held else []

    def get(self, key: str, name: str, partition: int | None = None) -> Any | None:
        """The value ``name`` the processor kept for message key ``key``; None if unset here.

        ``partition``: the key's, when known; else every partition this instance holds is asked
        (a key is in one of them, or with another instance).

        Args:
            key: The message key, as the processor saw it.
            name: The name the processor stored the value under.
            partition: The key's partition, when known.
        """
        prefix = serialize(key, dumps=dumps)
        for found in self._partitions(partition):
            value = found.begin().get(name, prefix=prefix)
            if value is not None:
                return value
        return None

    def windows(self, key: str, partition: int | None = None) -> list[tuple[tuple[int, int], Any]]:
        """The windows (``(start_ms, end_ms)``, value) a windowed store keeps for ``key``.

        Args:
            key: The message key, as the processor saw it.
            partition: The key's partition, when known.
        """
        prefix = serialize(key, dumps=dumps)
        for found in self._partitions(partition):
            details = found.begin().get_windows(start_from_ms=-1, start_to_ms=2**62, prefix=prefix)
            if details:
                # Each: (start, end), the aggregated value, the key's prefix.
                return [((window[0], window[1]), value) for window, value, _ in details]
        return []
