import struct

from kafka_kit.lag.offsets_topic import parse_offset_commit


def _string(text: str) -> bytes:
    return struct.pack(">h", len(text)) + text.encode()


def _key(version: int, group: str, topic: str, partition: int) -> bytes:
    return (
        struct.pack(">h", version) + _string(group) + _string(topic) + struct.pack(">i", partition)
    )


def test_value_versions_1_and_3() -> None:
    key = _key(1, "billing", "orders", 4)
    v1 = struct.pack(">hq", 1, 42) + _string("") + struct.pack(">qq", 1_700_000_000_000, -1)
    v3 = struct.pack(">hqi", 3, 43, 7) + _string("meta") + struct.pack(">q", 1_700_000_000_500)
    first, second = parse_offset_commit(key, v1), parse_offset_commit(key, v3)
    assert first is not None and second is not None
    assert (first.group, first.topic, first.partition, first.offset, first.timestamp) == (
        "billing",
        "orders",
        4,
        42,
        1_700_000_000_000,
    )
    assert (second.offset, second.timestamp) == (43, 1_700_000_000_500)


def test_flexible_value_version_4() -> None:
    meta = b"\x05abcd"  # compact string: length + 1 as an unsigned varint
    value = struct.pack(">hqi", 4, 99, 0) + meta + struct.pack(">q", 1_800_000_000_000) + b"\x00"
    commit = parse_offset_commit(_key(0, "g", "t", 0), value)
    assert commit is not None and (commit.offset, commit.timestamp) == (99, 1_800_000_000_000)


def test_tombstones_and_other_records() -> None:
    deleted = parse_offset_commit(_key(1, "g", "t", 2), None)
    assert deleted is not None and deleted.offset is None
    assert parse_offset_commit(struct.pack(">h", 2) + _string("g"), b"...") is None  # metadata
    assert parse_offset_commit(None, None) is None
