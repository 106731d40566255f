"""The records a ShareFetch answer hands a member, and acknowledgements as protocol batches."""

from __future__ import annotations

from typing import Any

from aiokafka.record.memory_records import MemoryRecords

from kafka_kit.share._protocol import AckBatches
from kafka_kit.share.records import AcknowledgeType, ShareRecord

__all__ = ["ack_batches", "acquired_records"]


def acquired_records(
    topic: str, partition: int, raw: bytes | None, acquired: list[Any]
) -> tuple[list[ShareRecord], list[int]]:
    """The records of ``raw`` this member acquired (with their delivery counts), and the
    acquired offsets that hold no record (gaps: transaction markers, compacted away).

    A fetch answers whole record batches; only offsets in ``acquired`` (first, last, delivery
    count) are this member's — others in the same batch belong to other members.

    Args:
        topic: The partition's topic.
        partition: The partition.
        raw: Its record batches, as fetched.
        acquired: The acquired ranges: (first offset, last offset, delivery count, tags).
    """
    deliveries: dict[int, int] = {}
    for first, last, count, _ in acquired:
        for offset in range(first, last + 1):
            deliveries[offset] = count
    records: list[ShareRecord] = []
    batches = MemoryRecords(raw) if raw else None
    while batches is not None and batches.has_next():
        batch = batches.next_batch()
        if batch is None:
            break
        if batch.is_control_batch:
            continue
        for record in batch:
            count = deliveries.pop(record.offset, None)
            if count is None:
                continue  # in the batch, not acquired by this member
            records.append(
                ShareRecord(
                    topic,
                    partition,
                    record.offset,
                    int(record.timestamp or 0),
                    int(record.timestamp_type or 0),
                    record.key,
                    record.value,
                    None,
                    len(record.key) if record.key is not None else -1,
                    len(record.value) if record.value is not None else -1,
                    tuple((k, v or b"") for k, v in record.headers),
                    count,
                )
            )
    return records, sorted(deliveries)


def ack_batches(acks: dict[int, AcknowledgeType]) -> AckBatches:
    """``{offset: type}`` as the protocol's batches: runs of consecutive offsets, each with one
    type when all its offsets share it, else a type per offset.

    Args:
        acks: The acknowledgements of one partition.
    """
    batches: AckBatches = []
    run: list[tuple[int, int]] = []
    for offset in sorted(acks):
        if run and offset != run[-1][0] + 1:
            batches.append(_batch(run))
            run = []
        run.append((offset, int(acks[offset])))
    if run:
        batches.append(_batch(run))
    return batches


def _batch(run: list[tuple[int, int]]) -> tuple[int, int, list[int]]:
    kinds = [kind for _, kind in run]
    return run[0][0], run[-1][0], kinds[:1] if len(set(kinds)) == 1 else kinds
