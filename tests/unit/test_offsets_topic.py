import struct

from kafka_kit.lag.offsets_topic import GroupDeleted, OffsetCommit, parse_offsets_record


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
    first, second = parse_offsets_record(key, v1, 7), parse_offsets_record(key, v3, 8)
    assert isinstance(first, OffsetCommit) and isinstance(second, OffsetCommit)
    assert (first.group, first.topic, first.partition, first.offset, first.timestamp) == (
        "billing",
        "orders",
        4,
        42,
        1_700_000_000_000,
    )
    assert (second.offset, second.timestamp) == (43, 1_700_000_000_500)
    assert (first.order, second.order) == (7, 8)


def test_flexible_value_version_4() -> None:
    meta = b"\x05abcd"  # compact string: length + 1 as an unsigned varint
    value = struct.pack(">hqi", 4, 99, 0) + meta + struct.pack(">q", 1_800_000_000_000) + b"\x00"
    commit = parse_offsets_record(_key(0, "g", "t", 0), value)
    assert isinstance(commit, OffsetCommit)
    assert (commit.offset, commit.timestamp) == (99, 1_800_000_000_000)


def test_tombstones_and_other_records() -> None:
    # An offset tombstone (--delete-offsets, expiry) is ignored, as Burrow ignores it.
    assert parse_offsets_record(_key(1, "g", "t", 2), None) is None
    group_key = struct.pack(">h", 2) + _string("g")
    assert parse_offsets_record(group_key, None) == GroupDeleted("g")  # the group was deleted
    assert parse_offsets_record(group_key, b"...") is None  # its metadata: not a commit
    assert parse_offsets_record(struct.pack(">h", 11) + _string("g"), b"x") is None  # KIP-848
    assert parse_offsets_record(None, None) is None
