import dataclasses
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Annotated

import pytest
from aiokafka.structs import ConsumerRecord
from fastapi import Depends
from pydantic import BaseModel
from typing_extensions import TypedDict  # pydantic needs it on Python < 3.12

from kafka_kit._internal.cancellation import within
from kafka_kit.errors import DeserializationError, ListenerDeclarationError
from kafka_kit.listener.arguments import HandlerInvoker, Inject


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


@dataclasses.dataclass
class Refund:
    id: int
    reason: str = "none"


class Shipment(TypedDict):
    id: int


class Store:
    pass


async def test_dataclass_and_typeddict_are_payloads() -> None:
    got: list[object] = []

    async def refunds(refund: Refund) -> None:
        got.append(refund)

    async def shipments(shipment: Shipment) -> None:
        got.append(shipment)

    await HandlerInvoker(refunds).invoke(record())
    await HandlerInvoker(shipments).invoke(record())
    assert got == [Refund(id=7), {"id": 7}]
    with pytest.raises(DeserializationError):
        await HandlerInvoker(refunds).invoke(record(b'{"id": "seven"}'))


def test_an_unmarked_class_is_refused_naming_the_parameter_and_the_marks() -> None:
    async def handler(order: Order, store: Store) -> None: ...

    with pytest.raises(ListenerDeclarationError) as raised:
        HandlerInvoker(handler)
    message = str(raised.value)
    assert "'store'" in message and "Annotated[Store, Inject]" in message
    assert "Depends(" in message


async def test_marked_dependencies_come_from_the_registry() -> None:
    store = Store()
    seen = []

    async def handler(order: Order, store: Annotated[Store, Inject]) -> None:
        seen.append((order.id, store))

    invoker = HandlerInvoker(handler)
    assert invoker.dependencies == [Store]
    await invoker.invoke(record(), dependencies={Store: store})
    assert seen == [(7, store)]


async def test_depends_is_called_per_record_cached_and_closed_after_the_handler() -> None:
    events: list[str] = []

    async def session() -> AsyncIterator[str]:
        events.append("open")
        try:
            yield "session"
        except ValueError:
            events.append("saw the handler's error")
            raise
        finally:
            events.append("close")

    def sync_resource() -> Iterator[str]:  # a sync generator runs off the loop, as in FastAPI
        events.append(f"sync open on {threading.current_thread() is threading.main_thread()}")
        yield "sync"
        events.append("sync close")

    def offset_of(rec: ConsumerRecord, db: Annotated[str, Depends(session)]) -> str:
        return f"{db}@{rec.offset}"

    async def handler(
        order: Order,
        db: Annotated[str, Depends(session)],
        where: str = Depends(offset_of),
        other: str = Depends(sync_resource),
    ) -> None:
        events.append(f"handle {order.id} {db} {where} {other}")
        if order.id == 8:
            raise ValueError("bad order")

    invoker = HandlerInvoker(handler)
    await invoker.invoke(record())
    assert events == [
        "open",  # once, though the handler and offset_of both ask for it
        "sync open on False",
        "handle 7 session session@3 sync",
        "sync close",
        "close",
    ]
    events.clear()
    with pytest.raises(ValueError, match="bad order"):
        await invoker.invoke(record(b'{"id": 8}', offset=4))
    assert events[-2:] == ["saw the handler's error", "close"]


def test_a_dependency_asking_for_what_a_listener_cannot_give_is_refused() -> None:
    def needs_query(q: str) -> str:
        return q

    async def handler(order: Order, value: str = Depends(needs_query)) -> None: ...

    with pytest.raises(ListenerDeclarationError, match="needs_query asks for 'q'"):
        HandlerInvoker(handler)


async def test_depends_without_a_function_calls_the_annotated_class() -> None:
    seen = []

    class Clock:
        def __init__(self) -> None:
            self.now = 42

    async def handler(order: Order, clock: Annotated[Clock, Depends()]) -> None:
        seen.append(clock.now)

    await HandlerInvoker(handler).invoke(record())
    assert seen == [42]
