"""Decode the records Kafka's group coordinator writes to ``__consumer_offsets``.

Each offset commit is a record whose key is ``(version int16, group, topic, partition)`` and whose
value is ``(version int16, offset int64, [leader epoch int32], metadata string, commit timestamp
int64, [expire timestamp int64])``; version 4 values are "flexible" (compact strings, tagged
fields). Key version 2 is a group's metadata; its null value (a tombstone) means the group was
deleted. Burrow ignores offset tombstones (``kafka-consumer-groups --delete-offsets``, offsets
expiring) and keeps the partition's window; so do we. Other key versions (KIP-848 records) are
skipped.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

__all__ = ["OFFSETS_TOPIC", "GroupDeleted", "OffsetCommit", "parse_offsets_record"]


OFFSETS_TOPIC = "__consumer_offsets"
_OFFSET_COMMIT_KEY_VERSIONS = (0, 1)
_GROUP_METADATA_KEY_VERSION = 2


@dataclass(frozen=True)
class OffsetCommit:
    """A group committed ``offset`` (the next to read) for a partition at ``timestamp`` (ms)."""

    group: str
    """The consumer group."""
    topic: str
    """The partition's topic."""
    partition: int
    """The partition."""
    offset: int
    """The next offset the group will read."""
    timestamp: int
    """When it committed (epoch ms)."""
    order: int = 0
    """The record's offset in ``__consumer_offsets``: later commits of a group have higher ones."""


@dataclass(frozen=True)
class GroupDeleted:
    """The group's metadata tombstone: the group is gone."""

    group: str
    """The deleted group."""


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.position = 0

    def take(self, fmt: str) -> int:
        (value,) = struct.unpack_from(fmt, self.data, self.position)
        self.position += struct.calcsize(fmt)
        return int(value)

    def string(self) -> str:
        length = self.take(">h")
        return self._text(length)

    def compact_string(self) -> str:
        length = self.uvarint() - 1
        return self._text(length)

    def uvarint(self) -> int:
        shift = result = 0
        while True:
            byte = self.data[self.position]
            self.position += 1
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return result
            shift += 7

    def _text(self, length: int) -> str:
        if length < 0:
            return ""
        text = self.data[self.position : self.position + length].decode()
        self.position += length
        return text


def parse_offsets_record(
    key: bytes | None, value: bytes | None, order: int = 0
) -> OffsetCommit | GroupDeleted | None:
    """The commit or group deletion in a ``__consumer_offsets`` record; ``None`` for others.

    Args:
        key: The record's key (the schema version, then group, topic and partition).
        value: Its value (``None``: a tombstone).
        order: Its offset in ``__consumer_offsets``.
    """
    if not key or len(key) < 2:
        return None
    keys = _Reader(key)
    version = keys.take(">h")
    if version == _GROUP_METADATA_KEY_VERSION:
        return GroupDeleted(keys.string()) if value is None else None
    if version not in _OFFSET_COMMIT_KEY_VERSIONS or value is None:
        return None
    group, topic, partition = keys.string(), keys.string(), keys.take(">i")
    values = _Reader(value)
    version = values.take(">h")
    offset = values.take(">q")
    if version >= 3:
        values.take(">i")  # leader epoch
    if version >= 4:
        values.compact_string()  # metadata
    else:
        values.string()
    timestamp = values.take(">q")
    return OffsetCommit(group, topic, partition, offset, timestamp, order)
