"""Header encodings as Spring for Apache Kafka writes and reads them (and our pre-0.6 text)."""

from __future__ import annotations

import struct

from aiokafka.structs import ConsumerRecord

from kafka_kit import headers as h
from kafka_kit.recovery.dead_letter import Origin, exception_headers, origin_of
from kafka_kit.recovery.retry_topics import delivery_of


def record(headers: tuple[tuple[str, bytes], ...] = (), **fields: object) -> ConsumerRecord:  # type: ignore[type-arg]
    values: dict[str, object] = {
        "topic": "orders-retry-1000", "partition": 1, "offset": 9, "timestamp": 1_700_000_000_500,
        "timestamp_type": 0, "key": None, "value": b"{}", "checksum": None,
        "serialized_key_size": -1, "serialized_value_size": 2, "headers": headers,
    }  # fmt: skip
    values.update(fields)
    return ConsumerRecord(**values)  # type: ignore[arg-type]


def test_numbers_as_java_byte_buffers_and_big_integers() -> None:
    assert h.int32(2) == b"\x00\x00\x00\x02"  # ByteBuffer.allocate(4).putInt(2)
    assert h.int64(1) == b"\x00" * 7 + b"\x01"  # ByteBuffer.allocate(8).putLong(1)
    # BigInteger.valueOf(n).toByteArray(): minimal two's complement, a sign bit to spare.
    assert h.big_integer(127) == b"\x7f"
    assert h.big_integer(128) == b"\x00\x80"
    assert h.big_integer(-1) == b"\xff"
    assert h.big_integer(1_764_000_000_123) == (1_764_000_000_123).to_bytes(6, "big")
    for n in (0, 1, 255, 256, 1_764_000_000_123, -5):
        assert h.decode_big_integer(h.big_integer(n)) == n


def test_numbers_read_binary_or_our_old_decimal_text() -> None:
    assert h.decode_int(h.int32(7)) == 7
    assert h.decode_int(h.int64(1_700_000_000_500)) == 1_700_000_000_500
    assert h.decode_int(b"12345678") == 12_345_678  # eight digits: text, not a long
    assert h.decode_int(b"2") == 2
    assert h.decode_int(b"-1") == -1
    assert h.decode_int(b"\x00\x01") is None  # neither
    assert h.decode_int(None) is None
    assert h.decode_big_integer(b"1500") == 1500  # our old decimal text


def test_origin_of_a_record_is_itself_unless_it_comes_from_a_retry_topic() -> None:
    plain = record(topic="orders", headers=((h.DLT_ORIGINAL_TOPIC, b"elsewhere"),))
    assert origin_of(plain) == Origin("orders", 1, 9, 1_700_000_000_500, "CreateTime")
    spring = record(
        headers=(
            *Origin("orders", 4, 77, 1_600_000_000_000, "LogAppendTime").headers(),
            (h.RETRY_ATTEMPTS, h.int32(2)),
            # A later hop's originals do not replace the first (Spring: appendOriginalHeaders).
            (h.DLT_ORIGINAL_TOPIC, b"orders-retry-1000"),
        )
    )
    assert origin_of(spring) == Origin("orders", 4, 77, 1_600_000_000_000, "LogAppendTime")
    legacy = record(
        headers=(
            ("kafka_retry-original-topic", b"orders"),
            ("kafka_retry-original-partition", b"3"),
            ("kafka_retry-original-offset", b"12"),
            ("kafka_retry-original-timestamp", b"1600000000000"),
            ("kafka_retry-attempt", b"2"),
        )
    )
    assert origin_of(legacy) == Origin("orders", 3, 12, 1_600_000_000_000, "CreateTime")


def test_origin_headers_are_springs() -> None:
    headers = dict(Origin("orders", 4, 77, 1_600_000_000_000).headers())
    assert struct.unpack(">i", headers[h.DLT_ORIGINAL_PARTITION]) == (4,)
    assert struct.unpack(">q", headers[h.DLT_ORIGINAL_OFFSET]) == (77,)
    assert struct.unpack(">q", headers[h.DLT_ORIGINAL_TIMESTAMP]) == (1_600_000_000_000,)
    assert headers[h.DLT_ORIGINAL_TIMESTAMP_TYPE] == b"CreateTime"


def test_delivery_counts_as_spring_does() -> None:
    assert delivery_of(record()) == 1  # the main topic's first delivery
    assert delivery_of(record(headers=((h.RETRY_ATTEMPTS, h.int32(3)),))) == 3
    assert delivery_of(record(headers=((h.RETRY_ATTEMPTS, b"\x02"),))) == 2  # Spring's 1-byte form
    assert delivery_of(record(headers=(("kafka_retry-attempt", b"2"),))) == 2  # ours, pre-0.6
    assert delivery_of(record(headers=((h.RETRY_ATTEMPTS, h.int32(0)),))) == 1


def test_exception_headers_name_the_failure_and_its_root_cause() -> None:
    try:
        try:
            raise ConnectionError("db down")
        except ConnectionError as low:
            raise RuntimeError("saving order 7 failed") from low
    except RuntimeError as exc:
        headers = dict(exception_headers(exc))
    assert headers[h.DLT_EXCEPTION_FQCN] == b"builtins.RuntimeError"
    assert headers[h.DLT_EXCEPTION_CAUSE_FQCN] == b"builtins.ConnectionError"
    assert headers[h.DLT_EXCEPTION_MESSAGE] == b"saving order 7 failed; db down"
    assert b"ConnectionError: db down" in headers[h.DLT_EXCEPTION_STACKTRACE]
