"""Decode the records Kafka's group coordinator writes to ``__consumer_offsets``.

Each offset commit is a record whose key is ``(version int16, group, topic, partition)`` and whose
value is ``(version int16, offset int64, [leader epoch int32], metadata string, commit timestamp
int64, [expire timestamp int64])``; version 4 values are "flexible" (compact strings, tagged
fields). A null value deletes the offset. Other key versions (group metadata, KIP-848 records)
are not offset commits.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

__all__ = ["OFFSETS_TOPIC", "OffsetCommit", "parse_offset_commit"]


OFFSETS_TOPIC = "__consumer_offsets"
_OFFSET_COMMIT_KEY_VERSIONS = (0, 1)


@dataclass(frozen=True)
class OffsetCommit:
    """A group committed ``offset`` (the next to read) for a partition at ``timestamp`` (ms)."""

    group: str
    topic: str
    partition: int
    offset: int | None
    """``None``: the committed offset was deleted (the group or its offsets expired)."""
    timestamp: int


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


def parse_offset_commit(key: bytes | None, value: bytes | None) -> OffsetCommit | None:
    """The offset commit in a ``__consumer_offsets`` record, or ``None`` for other records."""
    if not key or len(key) < 2:
        return None
    keys = _Reader(key)
    if keys.take(">h") not in _OFFSET_COMMIT_KEY_VERSIONS:
        return None
    group, topic, partition = keys.string(), keys.string(), keys.take(">i")
    if value is None:
        return OffsetCommit(group, topic, partition, None, 0)
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
    return OffsetCommit(group, topic, partition, offset, timestamp)
