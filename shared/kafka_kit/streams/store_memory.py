"""RocksDB under one memory cap: write buffers, indexes and filters charged to the shared cache."""

from __future__ import annotations

import threading
from typing import Any

from kafka_kit.streams._engine import (
    BlockBasedOptions,
    RocksDBOptions,
    WriteBufferManager,
    _shared_block_cache,
)

__all__ = ["CappedStoreOptions"]


class CappedStoreOptions(RocksDBOptions):
    """RocksDB options whose write buffers, indexes and bloom filters are charged to the shared
    read cache: every store partition and column family of the process together stay within
    ``block_cache_size``.

    Without it each store partition's column families get their own write buffers (a
    consumer service with 18 store partitions grew past 400 MB; ``bench/soak.py``), and every
    open table file keeps its index and filter in memory outside the cache, which grows with
    the keys stored.
    """

    def to_options(self) -> Any:
        """The engine's options, with one write-buffer manager over the shared cache and the
        tables' indexes and filters kept in it."""
        options = super().to_options()
        options.set_write_buffer_manager(_write_buffer_manager(self.block_cache_size))
        table = BlockBasedOptions()
        table.set_block_cache(_shared_block_cache(self.block_cache_size))
        table.set_bloom_filter(self.bloom_filter_bits_per_key, block_based=True)
        table.set_cache_index_and_filter_blocks(True)
        # The newest files are read most: their indexes and filters stay cached.
        table.set_pin_l0_filter_and_index_blocks_in_cache(True)
        options.set_block_based_table_factory(table)
        return options


_MANAGERS: dict[int, Any] = {}
_MANAGERS_LOCK = threading.Lock()


def _write_buffer_manager(capacity: int) -> Any:
    # One per cache, as the engine keeps one cache per size: partitions open concurrently.
    with _MANAGERS_LOCK:
        manager = _MANAGERS.get(capacity)
        if manager is None:
            cache = _shared_block_cache(capacity)
            manager = WriteBufferManager.new_write_buffer_manager_with_cache(capacity, False, cache)
            _MANAGERS[capacity] = manager
        return manager
