"""KafkaApp against a real broker: one object that declares topics, sends, listens and stops in
order; presets, the default group, payload types, ``Depends`` per record, and FastAPI."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from typing_extensions import TypedDict  # pydantic needs it on Python < 3.12

from kafka_kit import (
    AckMode,
    ConsumerRecord,
    KafkaAdmin,
    KafkaApp,
    KafkaSettings,
    KafkaTemplate,
    ProducerRecord,
    SendResult,
)
from kafka_kit.errors import ListenerDeclarationError
from kafka_kit.listener import Inject
from kafka_kit.middleware import Middleware
from kafka_kit.recovery import DefaultErrorHandler, FixedBackOff
from kafka_kit.testing import committed_offsets, wait_until, wait_until_sync
from kafka_kit.web import Template, include_listeners


@dataclasses.dataclass
class Greeting:
    name: str
    times: int = 1


class Parcel(TypedDict):
    id: int


class Ledger:
    def __init__(self) -> None:
        self.lines: list[str] = []


opened: list[str] = []


async def unit_of_work(record: ConsumerRecord) -> AsyncIterator[str]:
    """A dependency that yields: opened before the handler, closed after it."""
    opened.append(f"open {record.offset}")
    yield f"uow-{record.offset}"
    opened.append(f"close {record.offset}")


def _settings(settings: KafkaSettings, group: str | None = None) -> KafkaSettings:
    consumer = settings.consumer.model_copy(update={"group_id": group})
    return settings.model_copy(update={"consumer": consumer})


async def test_one_app_declares_sends_listens_and_commits_before_it_stops(
    listener_settings: KafkaSettings, topic_name: str
) -> None:
    ledger = Ledger()
    group = f"g-{topic_name}"
    app = KafkaApp(_settings(listener_settings, group), dependencies={Ledger: ledger})
    app.topic(topic_name, partitions=2)
    app.topic(f"{topic_name}-parcels", partitions=1)
    opened.clear()

    # No group_id: KAFKA_CONSUMER_GROUP_ID's (here the settings'); a dataclass payload, a
    # marked dependency and a FastAPI Depends resolved per record.
    @app.listener(topic_name)
    async def greet(
        greeting: Greeting,
        book: Annotated[Ledger, Inject],
        uow: Annotated[str, Depends(unit_of_work)],
    ) -> None:
        book.lines.append(f"{greeting.name} x{greeting.times} in {uow}")

    @app.listener(f"{topic_name}-parcels", group_id=f"{group}-parcels")
    async def parcels(parcel: Parcel, template: KafkaTemplate) -> None:
        await template.send(topic_name, Greeting(name=f"parcel {parcel['id']}"))

    started: list[bool] = []
    app.after_startup(lambda: _note(started, app.running))
    assert app.health().status == "STOPPED"
    async with app:
        assert app.health().status == "UP"
        assert started == [True]
        admin = KafkaAdmin(listener_settings)
        assert (await admin.topic_layout(topic_name))[0] == 2
        await app.template.send(topic_name, Greeting(name="ada", times=2), key="k")
        await app.template.send(f"{topic_name}-parcels", {"id": 7})
        await wait_until(lambda: len(ledger.lines) == 2, 30, "both greetings")
    assert app.health().status == "STOPPED"
    assert sorted(line.split(" in ")[0] for line in ledger.lines) == ["ada x2", "parcel 7 x1"]
    assert len(opened) == 4 and all(o.startswith(("open", "close")) for o in opened)
    # Stopped in order: what the listeners handled was committed first.
    committed = await committed_offsets(listener_settings.bootstrap_servers, group)
    assert sum(committed.values()) == 2


async def _note(seen: list[bool], value: bool) -> None:
    seen.append(value)


async def test_background_jobs_run_between_the_startup_and_shutdown_hooks(
    listener_settings: KafkaSettings, topic_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = KafkaApp(_settings(listener_settings, f"g-{topic_name}"))
    handled: list[str] = []
    events: list[str] = []
    resource: dict[str, bool] = {}

    @app.listener(topic_name)
    async def note(value: str) -> None:
        handled.append(value)

    @app.on_startup
    async def open_it() -> None:
        resource["open"] = True
        events.append("opened")

    @app.after_shutdown
    async def close_it() -> None:
        resource["open"] = False
        events.append("closed")

    @app.background
    async def tick() -> None:
        events.append(f"tick sees open={resource.get('open')}")
        try:
            while True:
                await app.template.send(topic_name, "tick")
                await asyncio.sleep(0.05)
        except asyncio.CancelledError:
            events.append(f"cancelled while open={resource['open']}")
            raise

    @app.background
    async def broken() -> None:
        raise RuntimeError("a background job that fails")

    async with app:
        await wait_until(lambda: len(handled) >= 3, 30, "the job's sends, handled")
        assert app.health().status == "UP"  # the failed job did not take the app down
    assert events == [
        "opened",
        "tick sees open=True",
        "cancelled while open=True",  # before after_shutdown closed what it used
        "closed",
    ]
    assert "broken failed" in caplog.text and "a background job that fails" in caplog.text


async def test_a_preset_is_declared_once_and_used_by_name(
    listener_settings: KafkaSettings, topic_name: str
) -> None:
    app = KafkaApp(listener_settings)
    app.preset("batches", group_id=f"p-{topic_name}", batch=True, ack_mode="record",
               max_poll_records=50)  # fmt: skip
    app.topic(topic_name, partitions=1)
    sizes: list[int] = []

    @app.listener(topic_name, preset="batches")
    async def in_batches(values: list[str]) -> None:
        sizes.append(len(values))

    endpoint = app.registry.endpoints["in_batches"]
    assert (endpoint.batch, endpoint.ack_mode, endpoint.group_id) == (
        True,
        AckMode.RECORD,
        f"p-{topic_name}",
    )
    assert endpoint.properties == {"max_poll_records": 50}
    async with app:
        for n in range(120):
            await app.template.send(topic_name, f"v{n}")
        await app.template.flush()
        await wait_until(lambda: sum(sizes) == 120, 30, "120 records in batches")
    assert max(sizes) <= 50  # the preset's consumer property reached the consumer
    with pytest.raises(ListenerDeclarationError, match=r"no listener preset 'nope'.*batches"):
        app.listener(topic_name, preset="nope")(in_batches)
    # An explicit option wins over the preset's.
    app.listener(topic_name, id="single", preset="batches", batch=False)(_one)
    assert app.registry.endpoints["single"].batch is False


async def _one(value: str) -> None:
    del value


async def test_a_listener_without_any_group_is_refused_at_start_naming_the_variable(
    listener_settings: KafkaSettings, topic_name: str
) -> None:
    app = KafkaApp(_settings(listener_settings, None))

    @app.listener(topic_name)
    async def orphan(value: str) -> None: ...

    with pytest.raises(ListenerDeclarationError, match="KAFKA_CONSUMER_GROUP_ID"):
        await app.start()
    assert not app.running


async def test_fastapi_routes_and_listeners_in_one_app(
    listener_settings: KafkaSettings, topic_name: str
) -> None:
    kafka = KafkaApp(_settings(listener_settings, f"web-{topic_name}"))
    kafka.topic(topic_name, partitions=1)
    heard: list[str] = []

    @kafka.listener(topic_name)
    async def hear(greeting: Greeting) -> None:
        heard.append(greeting.name)

    web = FastAPI()
    include_listeners(web, kafka)

    @web.post("/greetings/{name}")
    async def post(name: str, template: Template) -> dict[str, int]:
        result = await template.send(topic_name, Greeting(name=name))
        return {"offset": result.offset}

    def serve() -> None:
        with TestClient(web) as client:
            assert kafka.running  # started with the web app
            assert client.post("/greetings/grace").json() == {"offset": 0}
            # This thread is the web client's, not the app's loop: a sync wait.
            wait_until_sync(lambda: heard, 30, "the listener hearing the greeting", 0.05)
        assert not kafka.running  # stopped with it

    await asyncio.to_thread(serve)
    assert heard == ["grace"]


class Recovered:
    """A recoverer that notes the offsets it took."""

    def __init__(self, offsets: list[int]) -> None:
        self.offsets = offsets

    async def recover(self, record: ConsumerRecord, exc: Exception, context: object) -> None:
        self.offsets.append(record.offset)


class Recording(Middleware):
    """Sees every handle and send: record, result, exception."""

    def __init__(self, name: str, seen: list[str]) -> None:
        self.name, self.seen = name, seen

    async def on_handle(self, records: Any, call_next: Callable[[Any], Awaitable[Any]]) -> Any:
        self.seen.append(f"{self.name} before {records.value.decode()}")
        try:
            result = await call_next(records)
        except ValueError as exc:
            self.seen.append(f"{self.name} saw {exc}")
            raise
        self.seen.append(f"{self.name} after {result}")
        return result

    async def on_send(
        self, record: ProducerRecord, call_next: Callable[[ProducerRecord], Awaitable[SendResult]]
    ) -> SendResult:
        result = await call_next(record)
        self.seen.append(f"{self.name} sent {record.value!r} to {result.topic}@{result.offset}")
        return result


async def test_filters_drop_and_count_middlewares_see_handles_and_sends(
    listener_settings: KafkaSettings, topic_name: str
) -> None:
    seen: list[str] = []
    recovered: list[int] = []
    group = f"f-{topic_name}"
    app = KafkaApp(listener_settings, middlewares=[Recording("app", seen)])
    app.topic(topic_name, partitions=1)
    handled: list[str] = []

    @app.listener(
        topic_name,
        group_id=group,
        filter=lambda record: not record.value.startswith(b"skip"),
        middlewares=[Recording("own", seen)],
        error_handler=DefaultErrorHandler(Recovered(recovered), FixedBackOff(0, 0)),
    )
    async def handle(value: str) -> str:
        if value == "bad":
            raise ValueError("bad value")
        handled.append(value)
        return value.upper()

    async with app:
        for value in ["a", "skip-1", "bad", "skip-2", "b"]:
            await app.template.send(topic_name, value)
        await wait_until(lambda: handled == ["a", "b"], 30, "the kept records")
        container = app.registry.container("handle")
        await wait_until(
            lambda: sum(c.metrics.records_filtered for c in container.children) == 2,
            30,
            "two records filtered",
        )
    assert recovered == [2]
    # Handled, filtered and recovered: all committed.
    assert await committed_offsets(listener_settings.bootstrap_servers, group) == {
        (topic_name, 0): 5
    }
    handles = [line for line in seen if " sent " not in line]
    assert handles == [
        "app before a", "own before a", "own after A", "app after A",
        "app before bad", "own before bad", "own saw bad value", "app saw bad value",
        "app before b", "own before b", "own after B", "app after B",
    ]  # fmt: skip
    sends = [line for line in seen if " sent " in line]
    assert len(sends) == 5 and sends[0] == f"app sent b'a' to {topic_name}@0"
