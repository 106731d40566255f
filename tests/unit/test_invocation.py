import threading

import pytest
from aiokafka.structs import ConsumerRecord
from pydantic import BaseModel

from kafka_kit._cancellation import within
from kafka_kit.listener.arguments import HandlerInvoker


class Order(BaseModel):
    id: int


def record(
    value: bytes = b'{"id": 7}', key: bytes | None = b"k1", offset: int = 3
) -> ConsumerRecord:
    return ConsumerRecord(
        topic="orders",
        partition=2,
        offset=offset,
        timestamp=1700000000000,
        timestamp_type=0,
        key=key,
        value=value,
        checksum=None,
        serialized_key_size=2,
        serialized_value_size=len(value),
        headers=(("trace", b"abc"),),
    )


async def test_injects_payload_record_and_named_values() -> None:
    seen = {}

    async def handler(
        order: Order,
        rec: ConsumerRecord,
        key: str,
        topic: str,
        partition: int,
        offset: int,
        timestamp: int,
        headers: dict,
    ) -> None:
        seen.update(locals())

    await HandlerInvoker(handler).invoke(record())
    assert seen["order"] == Order(id=7)
    assert seen["rec"].offset == 3
    assert (seen["key"], seen["topic"], seen["partition"], seen["offset"]) == ("k1", "orders", 2, 3)
    assert seen["timestamp"] == 1700000000000
    assert seen["headers"] == {"trace": b"abc"}


async def test_raw_payload_types_and_bytes_key() -> None:
    got = []
    await HandlerInvoker(lambda value: got.append(value)).invoke(record())  # noqa: PLW0108

    def as_text(value: str, key: bytes | None) -> None:
        got.append((value, key))

    await HandlerInvoker(as_text).invoke(record(key=None))
    assert got == [b'{"id": 7}', ('{"id": 7}', None)]


async def test_sync_handler_runs_off_the_event_loop() -> None:
    loop_thread = threading.get_ident()
    threads = []

    def handler(order: Order) -> None:
        threads.append(threading.get_ident())

    await HandlerInvoker(handler).invoke(record())
    assert threads and threads[0] != loop_thread


async def test_batch_handler_gets_lists() -> None:
    got = {}

    async def handler(
        orders: list[Order], offsets: list[int], records: list[ConsumerRecord]
    ) -> None:
        got.update(orders=orders, offsets=offsets, n=len(records))

    invoker = HandlerInvoker(handler, batch=True)
    await invoker.invoke([record(b'{"id": 1}', offset=0), record(b'{"id": 2}', offset=1)])
    assert got == {"orders": [Order(id=1), Order(id=2)], "offsets": [0, 1], "n": 2}


def test_a_handler_with_two_payloads_is_refused_at_declaration() -> None:
    def handler(a: Order, b: Order) -> None: ...

    with pytest.raises(TypeError, match="cannot inject parameter 'b'"):
        HandlerInvoker(handler)


async def test_handler_errors_propagate() -> None:
    async def handler(order: Order) -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await within(HandlerInvoker(handler).invoke(record()), 5)


async def test_one_argument_handlers_get_their_payload_however_declared() -> None:
    seen: list[object] = []

    async def positional(order: Order) -> None:
        seen.append(order)

    async def keyword_only(*, order: Order) -> None:
        seen.append(order)

    async def only_the_key(key: str) -> None:
        seen.append(key)

    for handler in (positional, keyword_only, only_the_key):
        await HandlerInvoker(handler).invoke(record())
    assert seen == [Order(id=7), Order(id=7), "k1"]


async def test_a_bad_payload_fails_at_the_call() -> None:
    async def handler(order: Order) -> None:
        raise AssertionError("not called")

    with pytest.raises(ValueError, match="not a valid Order"):
        HandlerInvoker(handler).invoke(record(b"{}"))
