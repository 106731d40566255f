"""The share-group client's pure parts: acknowledgement batches, acquired records, the wire."""

from __future__ import annotations

import uuid
from io import BytesIO

import pytest
from aiokafka.record.default_records import DefaultRecordBatchBuilder

from kafka_kit.errors import ListenerDeclarationError
from kafka_kit.listener.endpoint import ListenerEndpoint
from kafka_kit.share._protocol import NullableStruct, ShareFetch, ShareGroupHeartbeat, Uuid
from kafka_kit.share.acquired import ack_batches, acquired_records
from kafka_kit.share.records import AcknowledgeType, ShareAcknowledgment

A, R, J = AcknowledgeType.ACCEPT, AcknowledgeType.RELEASE, AcknowledgeType.REJECT


def test_acknowledgements_become_runs_of_consecutive_offsets() -> None:
    # One type for a run that shares it; a type per offset where they differ; gaps split runs.
    acks = {5: A, 3: A, 4: A, 9: R, 10: J, 11: A}
    assert ack_batches(acks) == [(3, 5, [1]), (9, 11, [2, 3, 1])]
    assert ack_batches({}) == []


def _batch(offsets: range) -> bytes:
    builder = DefaultRecordBatchBuilder(
        magic=2, compression_type=0, is_transactional=0, producer_id=-1, producer_epoch=-1,
        base_sequence=-1, batch_size=1 << 20,
    )  # fmt: skip
    for offset in offsets:
        builder.append(
            offset - offsets.start, timestamp=1000 + offset, key=None,
            value=f"v{offset}".encode(), headers=[("h", b"x")],
        )  # fmt: skip
    return bytes(builder.build())


def test_only_acquired_offsets_are_delivered_with_their_counts_and_missing_ones_are_gaps() -> None:
    raw = _batch(range(0, 6))  # offsets 0..5 in one batch
    # This member acquired 1-2 (first delivery) and 4-7 (third); 6 and 7 hold no record.
    records, gaps = acquired_records("t", 0, raw, [(1, 2, 1, {}), (4, 7, 3, {})])
    assert [(r.offset, r.delivery_count, r.value) for r in records] == [
        (1, 1, b"v1"), (2, 1, b"v2"), (4, 3, b"v4"), (5, 3, b"v5"),
    ]  # fmt: skip
    assert gaps == [6, 7]
    assert records[0].headers == (("h", b"x"),) and records[0].topic == "t"


def test_a_nullable_struct_and_a_uuid_round_trip() -> None:
    struct = NullableStruct(("a", Uuid))
    topic_id = uuid.uuid4()
    assert struct.decode(BytesIO(struct.encode((topic_id,)))) == (topic_id,)
    assert struct.decode(BytesIO(struct.encode(None))) is None


def test_requests_pick_the_newest_version_both_sides_speak() -> None:
    fetch = ShareFetch(
        "g", "m", 3, max_wait_ms=100, max_records=5, record_limit=True,
        topics={uuid.uuid4(): {0: [(0, 1, [1])]}}, forgotten={},
    )  # fmt: skip
    assert fetch.prepare({78: (1, 2)}).API_VERSION == 2
    assert fetch.prepare({78: (1, 1)}).API_VERSION == 1
    beat = ShareGroupHeartbeat("g", "m", 0, ["t"]).prepare({76: (1, 1)})
    # Flexible: compact strings (length + 1), then the tagged fields.
    assert beat.encode().startswith(b"\x02g\x02m\x00\x00\x00\x00")


def test_the_share_acknowledgment_keeps_the_first_decision() -> None:
    seen: list[AcknowledgeType] = []
    ack = ShareAcknowledgment(seen.append)
    ack.release()
    ack.accept()
    ack.acknowledge()
    assert seen == [R] and ack.kind is R and ack.acknowledged


def test_share_listeners_refuse_a_pattern_and_a_group_id() -> None:
    async def handler(value: bytes) -> None:
        pass

    with pytest.raises(ListenerDeclarationError, match="pattern"):
        ListenerEndpoint(id="x", handler=handler, pattern="t.*", share_group="g")
    with pytest.raises(ListenerDeclarationError, match="group_id"):
        ListenerEndpoint(id="x", handler=handler, topics=("t",), group_id="c", share_group="g")
    with pytest.raises(ListenerDeclarationError, match="max_deliveries"):
        ListenerEndpoint(id="x", handler=handler, topics=("t",), share_group="g", max_deliveries=0)
