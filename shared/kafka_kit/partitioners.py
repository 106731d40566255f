"""How a record's partition is chosen: murmur2 for keys, sticky batches without, or your own."""

from __future__ import annotations

import importlib
import random
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from aiokafka.partitioner import murmur2

if TYPE_CHECKING:
    from kafka_kit.records import ProducerRecord


__all__ = [
    "DefaultPartitioner",
    "Partitioner",
    "PriorityPartitioner",
    "StickyPartitioner",
    "key_partition",
    "load_partitioner",
]


class Partitioner(Protocol):
    """Chooses a partition; returning ``None`` leaves the record to the default partitioner."""

    def __call__(
        self,
        record: ProducerRecord,
        value: Any,
        partitions: Sequence[int],
        available: Sequence[int],
    ) -> int | None:
        """``value`` is the object given to ``send`` (before serialization)."""
        ...


def key_partition(key: bytes, partitions: Sequence[int]) -> int:
    """The partition the Java client picks for ``key``: ``toPositive(murmur2(key)) % count``.

    Args:
        key: The serialized key.
        partitions: Every partition of the topic.
    """
    hashed: int = murmur2(key)
    return partitions[(hashed & 0x7FFFFFFF) % len(partitions)]


class StickyPartitioner:
    """Keyless records stay on one partition until ``batch_size`` bytes went there, then move.

    The Java client's built-in "uniform sticky" partitioner (KIP-480, KIP-794): whole batches
    instead of one record per partition, so batches fill up, and a random next partition each
    time, so partitions even out over time.

    Args:
        batch_size: Bytes per partition before moving on.
        rng: Chooses the next partition (seeded in tests).
    """

    def __init__(self, batch_size: int = 16384, rng: random.Random | None = None) -> None:
        self.batch_size = batch_size
        self._rng = rng or random.Random()
        self._current: dict[str, tuple[int, int]] = {}

    def partition(self, topic: str, size: int, available: Sequence[int]) -> int:
        """The sticky partition for the next ``size`` bytes to ``topic``.

        Args:
            topic: The topic.
            size: The record's size in bytes.
            available: Partitions with a leader now.
        """
        current = self._current.get(topic)
        if current is None or current[1] >= self.batch_size or current[0] not in available:
            choices = [p for p in available if current is None or p != current[0]] or list(
                available
            )
            current = (self._rng.choice(choices), 0)
        partition, produced = current
        self._current[topic] = (partition, produced + size)
        return partition


class DefaultPartitioner:
    """What the Java producer does: murmur2 over all partitions for keys, sticky without.

    Args:
        batch_size: Bytes a keyless record's sticky partition takes before moving on (the producer's
            batch size).
        rng: Chooses the next sticky partition (seeded in tests).
    """

    def __init__(self, batch_size: int = 16384, rng: random.Random | None = None) -> None:
        self.sticky = StickyPartitioner(batch_size, rng)

    def __call__(
        self,
        record: ProducerRecord,
        value: Any,
        partitions: Sequence[int],
        available: Sequence[int],
    ) -> int:
        """Pick the partition for ``record``."""
        if record.key is not None:
            # Keys map over *all* partitions: a key keeps its partition while a leader is down.
            return key_partition(record.key, partitions)
        size = len(record.value or b"")
        return self.sticky.partition(record.topic, size, available or partitions)


def _default_is_high_priority(record: ProducerRecord, value: Any) -> bool:
    for name, header in record.headers:
        if name == "priority":
            return header.lower() == b"high"
    payload = getattr(value, "payload", value)
    return isinstance(payload, dict) and str(payload.get("priority", "")).lower() == "high"


class PriorityPartitioner:
    """Reserves the first ``high_partitions`` partitions for high-priority events.

    High-priority records (a ``priority: high`` header, or ``"priority": "high"`` in the event's
    payload) go to partitions ``[0, high_partitions)``; all others to the rest. Within each range
    a key still picks its partition by murmur2, so per-key order holds. A dedicated listener on the
    reserved partitions then serves urgent events without queueing behind bulk traffic.

    Args:
        high_partitions: How many partitions (the first ones) are reserved for high priority.
        is_high_priority: ``(record, value) -> bool``; by default a ``priority: high`` header or
            payload field.
        rng: Chooses a partition within the range.
    """

    def __init__(
        self,
        high_partitions: int = 1,
        is_high_priority: Callable[[ProducerRecord, Any], bool] = _default_is_high_priority,
        rng: random.Random | None = None,
    ) -> None:
        if high_partitions < 1:
            raise ValueError("reserve at least one partition for high priority")
        self.high_partitions = high_partitions
        self.is_high_priority = is_high_priority
        self._rng = rng or random.Random()

    def __call__(
        self,
        record: ProducerRecord,
        value: Any,
        partitions: Sequence[int],
        available: Sequence[int],
    ) -> int:
        """Pick a partition inside the record's priority range."""
        ordered = sorted(partitions)
        if len(ordered) <= self.high_partitions:
            raise ValueError(
                f"topic {record.topic} has {len(ordered)} partitions: too few to reserve "
                f"{self.high_partitions} for high priority and keep one for the rest"
            )
        high = self.is_high_priority(record, value)
        reserved = ordered[: self.high_partitions] if high else ordered[self.high_partitions :]
        if record.key is not None:
            return key_partition(record.key, reserved)
        candidates = [p for p in reserved if p in available] or reserved
        return self._rng.choice(candidates)


def load_partitioner(spec: str) -> Partitioner:
    """Import ``"package.module:name"``; a class is instantiated with no arguments.

    Args:
        spec: ``package.module:name`` of a partitioner function or class.
    """
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"a partitioner is given as 'package.module:name', not {spec!r}")
    target = getattr(importlib.import_module(module_name), attribute)
    partitioner = target() if isinstance(target, type) else target
    if not callable(partitioner):
        raise TypeError(f"{spec} is not callable")
    return partitioner  # type: ignore[no-any-return]
