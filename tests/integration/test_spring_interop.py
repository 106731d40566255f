"""Next to Spring services on the same topics: a real Spring Kafka application as the peer.

``tests/spring_peer`` (spring-kafka 3.3, built with Maven, cached) listens with
``@KafkaListener`` + ``JsonDeserializer``, sends with ``KafkaTemplate`` + ``JsonSerializer``,
dead-letters with ``DeadLetterPublishingRecoverer`` and reads headers the way Spring code does.
"""

from __future__ import annotations

import asyncio
import random
import string
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import BaseModel

from consumer_service.app import create_app
from event_contract.events import EventDto, EventsTopicSettings
from kafka_kit import KafkaApp, kafka_listener
from kafka_kit import headers as h
from kafka_kit.admin import KafkaAdmin
from kafka_kit.errors import BatchListenerFailedError
from kafka_kit.recovery.back_off import FixedBackOff
from kafka_kit.recovery.dead_letter import DeadLetterPublishingRecoverer
from kafka_kit.recovery.error_handler import DefaultErrorHandler
from kafka_kit.recovery.retry_topics import RetryTopics
from kafka_kit.registry import ListenerRegistry
from kafka_kit.replies import ReplyingKafkaTemplate
from kafka_kit.settings import KafkaSettings, ProducerSettings
from kafka_kit.template import KafkaTemplate
from kafka_kit.testing import wait_until
from tests.app_helpers import running, started
from tests.kafka_helpers import create_topic, produce, read_to_end
from tests.spring import SpringPeer


class Refund(BaseModel):
    """The second type on the topic (``peer.RefundDto`` on the Java side)."""

    order_id: int
    amount: str


TYPES = {"event": EventDto, "refund": Refund}


@pytest.fixture
def spring(listener_settings: KafkaSettings) -> SpringPeer:
    return SpringPeer(listener_settings.bootstrap_servers)


async def test_our_events_reach_a_spring_listener_typed_by_the_type_header(
    spring: SpringPeer, listener_settings: KafkaSettings, topic_name: str
) -> None:
    await create_topic(listener_settings.bootstrap_servers, topic_name)
    occurred = datetime(2026, 11, 25, 10, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    event = EventDto(type="order.created", source="py", key="c-1", occurred_at=occurred)
    async with KafkaTemplate(listener_settings, type_mapping=TYPES) as template:
        await template.send(topic_name, event, key="c-1")
        await template.send(topic_name, Refund(order_id=7, amount="9.90"), key="c-1")
    # The Spring consumer has no default type: the __TypeId__ token alone picks the class.
    lines = await asyncio.to_thread(spring.run, "listen", topic_name, f"spring-{topic_name}", "2")
    first, second = sorted(lines, key=lambda line: line["offset"])
    # (Spring's JsonDeserializer removes the type header once it has used it.)
    raw = await read_to_end(listener_settings.bootstrap_servers, topic_name)
    assert [dict(r.headers)[h.TYPE_ID] for r in raw] == [b"event", b"refund"]
    assert first["class"] == "peer.EventDto"
    assert first["value"]["id"] == str(event.id)
    assert first["value"]["payload"] == {}
    # Spring's JsonDeserializer normalises the offset to UTC; the instant is the same.
    assert first["occurred_at_offset"] == "Z"
    assert datetime.fromisoformat(first["occurred_at_utc"]) == occurred
    assert second["class"] == "peer.RefundDto"
    assert second["value"] == {"order_id": 7, "amount": "9.90"}


async def test_springs_events_reach_our_listener_typed_by_the_type_header(
    spring: SpringPeer, listener_settings: KafkaSettings, topic_name: str
) -> None:
    bootstrap = listener_settings.bootstrap_servers
    await create_topic(bootstrap, topic_name)
    registry = ListenerRegistry()
    received: list[EventDto | Refund] = []

    @kafka_listener(topic_name, group_id=f"g-{topic_name}", registry=registry, type_mapping=TYPES)
    async def on(payload: EventDto | Refund) -> None:
        received.append(payload)

    event = {
        "id": "6f1c1d5e-8a7b-4c3d-9e2f-0a1b2c3d4e5f",
        "type": "order.created",
        "source": "java",
        "key": "c-2",
        "payload": {"total": "59.90"},
        "occurred_at": "2026-11-25T10:00:00.123+02:00",
    }
    sent = [
        {"type": "event", "key": "c-2", "value": event},
        {"type": "refund", "key": "c-2", "value": {"order_id": 8, "amount": "1.00"}},
    ]
    async with started(registry, listener_settings):
        await asyncio.to_thread(spring.run, "send", topic_name, lines=sent)
        await wait_until(lambda: len(received) == 2, 60, "both records")
    got_event, got_refund = received
    assert isinstance(got_event, EventDto) and isinstance(got_refund, Refund)
    assert str(got_event.id) == event["id"] and got_event.payload == {"total": "59.90"}
    # Spring's default ObjectMapper writes the time as epoch seconds: the same instant arrives.
    assert got_event.occurred_at == datetime(2026, 11, 25, 8, 0, 0, 123000, tzinfo=UTC)
    assert got_refund == Refund(order_id=8, amount="1.00")


async def test_an_unknown_type_token_is_dead_lettered_with_the_reason(
    listener_settings: KafkaSettings, topic_name: str
) -> None:
    bootstrap = listener_settings.bootstrap_servers
    await create_topic(bootstrap, topic_name)
    registry = ListenerRegistry()

    @kafka_listener(topic_name, group_id=f"g-{topic_name}", registry=registry, type_mapping=TYPES)
    async def on(payload: EventDto | Refund) -> None:
        raise AssertionError(f"not for us: {payload}")

    async with KafkaTemplate(listener_settings) as template:
        error_handler = DefaultErrorHandler(
            DeadLetterPublishingRecoverer(template), FixedBackOff(0, 0)
        )
        await registry.start(listener_settings, error_handler=error_handler)
        try:
            await template.send(topic_name, {"box": 1}, headers=[(h.TYPE_ID, b"shipment")], key="s")
            await wait_until(
                lambda: _has_records(bootstrap, f"{topic_name}-dlt", 1), 60, "the dead letter"
            )
        finally:
            await registry.stop()
    (letter,) = await read_to_end(bootstrap, f"{topic_name}-dlt")
    headers = dict(letter.headers)
    assert headers[h.DLT_EXCEPTION_FQCN] == b"kafka_kit.errors.DeserializationError"
    assert b"no type is mapped to __TypeId__ 'shipment'" in headers[h.DLT_EXCEPTION_MESSAGE]


async def _has_records(bootstrap: str, topic: str, count: int) -> bool:
    if not await KafkaAdmin(KafkaSettings(bootstrap_servers=bootstrap)).exists(topic):
        return False
    return len(await read_to_end(bootstrap, topic)) >= count


async def test_our_dead_letters_are_read_and_replayed_by_spring(
    spring: SpringPeer, listener_settings: KafkaSettings, topic_name: str
) -> None:
    bootstrap = listener_settings.bootstrap_servers
    await create_topic(bootstrap, topic_name, partitions=3)
    registry = ListenerRegistry()
    deliveries: list[int] = []

    @kafka_listener(topic_name, group_id=f"py-{topic_name}", registry=registry)
    async def on(value: bytes, offset: int) -> None:
        deliveries.append(offset)
        raise ValueError(f"python refuses {value.decode()}")

    async with KafkaTemplate(listener_settings) as template:
        # As Spring's FixedBackOff(0, 2): two retries, three deliveries in all.
        handler = DefaultErrorHandler(DeadLetterPublishingRecoverer(template), FixedBackOff(0, 2))
        await registry.start(listener_settings, error_handler=handler)
        try:
            # The dead-letter topic was declared with the listener, as wide as its topic.
            assert (await KafkaAdmin(listener_settings).topic_layout(f"{topic_name}-dlt"))[0] == 3
            for partition in range(3):
                await produce(bootstrap, topic_name, [f"p{partition}".encode()],
                              partition=partition)  # fmt: skip
            await wait_until(
                lambda: _has_records(bootstrap, f"{topic_name}-dlt", 3), 60, "three dead letters"
            )
        finally:
            await registry.stop()
    assert len(deliveries) == 9  # three deliveries of each record
    lines = await asyncio.to_thread(
        spring.run, "read-dlt", f"{topic_name}-dlt", "3", "replay"
    )  # Spring's ByteBuffer.getInt()/getLong(): wrong encodings would throw here
    for line in lines:
        assert line["original_topic"] == topic_name
        assert line["partition"] == line["original_partition"]  # same partition as the original
        assert line["original_offset"] == 0
        assert line["original_timestamp"] > 1_700_000_000_000
        assert line["original_timestamp_type"] == "CreateTime"
        assert line["original_consumer_group"] == f"py-{topic_name}"
        assert line["exception_fqcn"] == "builtins.ValueError"
        assert line["exception_message"] == f"python refuses p{line['original_partition']}"
        assert line["replayed_partition"] == line["original_partition"]
    assert sorted(line["original_partition"] for line in lines) == [0, 1, 2]


async def test_springs_dead_letters_are_listed_and_replayed_to_their_partition(
    spring: SpringPeer, listener_settings: KafkaSettings, topic_name: str
) -> None:
    bootstrap = listener_settings.bootstrap_servers
    await create_topic(bootstrap, topic_name, partitions=3)
    await create_topic(bootstrap, f"{topic_name}-dlt", partitions=3)
    for partition in range(3):
        await produce(bootstrap, topic_name, [b"a", f"b{partition}".encode()], key=b"k",
                      partition=partition)  # fmt: skip
    # Spring: FixedBackOff(0, 1), one retry, then DeadLetterPublishingRecoverer.
    lines = await asyncio.to_thread(
        spring.run, "fail", topic_name, f"spring-{topic_name}", "6", "1"
    )
    assert len([line for line in lines if "delivery" in line]) == 12  # two deliveries each
    app = create_app(
        listener_settings,
        EventsTopicSettings(topic=f"{topic_name}-events", partitions=1),
        ListenerRegistry(),
    )
    async with running(app, "consumer") as client:
        listing = (await client.get(f"/dlt/{topic_name}")).json()["records"]
        assert len(listing) == 6
        for letter in listing:
            original = letter["original"]
            # Spring's binary headers, read: nothing null.
            assert original["topic"] == topic_name
            assert original["partition"] == letter["partition"]
            assert original["offset"] in (0, 1)
            assert original["timestamp"] > 1_700_000_000_000
            assert original["timestamp_type"] == "CreateTime"
            assert original["consumer_group"] == f"spring-{topic_name}"
            assert letter["exception"]["cause_class"] == "java.lang.IllegalStateException"
            assert "spring refuses offset" in letter["exception"]["message"]
        replay = await client.post(f"/dlt/{topic_name}/replay", json={"all": True})
        assert replay.status_code == 200, replay.text
        sent = replay.json()["replayed"]
        by_letter = {(s["dead_letter"]["partition"], s["dead_letter"]["offset"]): s for s in sent}
        for letter in listing:
            back = by_letter[(letter["partition"], letter["offset"])]
            assert (back["topic"], back["partition"]) == (
                topic_name,
                letter["original"]["partition"],
            )


async def test_our_retry_topics_carry_springs_retry_headers(
    spring: SpringPeer, listener_settings: KafkaSettings, topic_name: str
) -> None:
    bootstrap = listener_settings.bootstrap_servers
    registry = ListenerRegistry()

    @kafka_listener(
        topic_name,
        group_id=f"g-{topic_name}",
        registry=registry,
        retry_topics=RetryTopics(attempts=2, back_off=FixedBackOff(60, None)),
    )
    async def on(value: bytes) -> None:
        raise ConnectionError("downstream is down")

    # The main topic does not exist yet: the listener creates it, and its retry and dead-letter
    # topics with its layout.
    async with started(registry, listener_settings):
        assert await KafkaAdmin(listener_settings).exists(f"{topic_name}-retry-60000")
        produced = await produce(bootstrap, topic_name, [b"x"], key=b"k")
        await wait_until(
            lambda: _has_records(bootstrap, f"{topic_name}-retry-60000", 1), 60, "the retry"
        )
    (line,) = await asyncio.to_thread(spring.run, "read-retry", f"{topic_name}-retry-60000", "1")
    assert line["attempts"] == 2  # the delivery the retry record is, as Spring counts
    assert line["original_topic"] == topic_name and line["original_offset"] == produced[0]
    (original,) = await read_to_end(bootstrap, topic_name)
    assert line["original_timestamp"] == original.timestamp
    assert line["backoff_timestamp"] > line["original_timestamp"] + 50_000


@pytest.mark.parametrize("partitions", [7])
async def test_keyed_records_land_on_the_partitions_spring_picks(
    spring: SpringPeer, listener_settings: KafkaSettings, topic_name: str, partitions: int
) -> None:
    await create_topic(listener_settings.bootstrap_servers, topic_name, partitions=partitions)
    rng = random.Random(16)
    alphabet = string.ascii_letters + string.digits + "äöü€漢字🙂-_ "
    keys = [
        "",
        *(f"customer-{n}" for n in range(300)),
        *("".join(rng.choices(alphabet, k=rng.randint(1, 40))) for _ in range(699)),
    ]
    spring_side = await asyncio.to_thread(spring.run, "partition", topic_name, lines=keys)
    theirs = {line["key"]: line["partition"] for line in spring_side}
    async with KafkaTemplate(listener_settings) as template:
        ours = {
            key: (await template.send(topic_name, {"k": key}, key=key)).partition for key in keys
        }
    assert len(keys) == 1000 and ours == theirs


async def test_spring_reads_only_committed_transactions(
    spring: SpringPeer, listener_settings: KafkaSettings, topic_name: str
) -> None:
    await create_topic(listener_settings.bootstrap_servers, topic_name)
    settings = listener_settings.model_copy(
        update={"producer": ProducerSettings(transactional_id=f"tx-{topic_name}")}
    )
    async with KafkaTemplate(settings) as template:
        async with template.transaction():
            for n in range(3):
                await template.send(topic_name, f"kept-{n}")
        with pytest.raises(RuntimeError):
            async with template.transaction():
                await template.send(topic_name, "aborted")
                raise RuntimeError("roll back")
        async with template.transaction():
            await template.send(topic_name, "kept-3")
    lines = await asyncio.to_thread(spring.run, "read-committed", topic_name)
    assert [line["value"] for line in lines] == [f"kept-{n}" for n in range(4)]


async def test_a_python_request_gets_the_reply_of_a_spring_send_to_listener(
    spring: SpringPeer, listener_settings: KafkaSettings, topic_name: str
) -> None:
    bootstrap = listener_settings.bootstrap_servers
    replies = f"{topic_name}-replies"
    await create_topic(bootstrap, topic_name)
    await create_topic(bootstrap, replies)
    peer = spring.start("reply", topic_name, f"spring-{topic_name}", "3")
    try:
        template = KafkaTemplate(listener_settings)
        async with template, ReplyingKafkaTemplate(template, replies, default_timeout_s=90) as r:
            answers = [await r.request_value(topic_name, t, str) for t in ["one", "two", "three"]]
    finally:
        lines = await asyncio.to_thread(spring.finish, peer)
    assert answers == ["spring: one", "spring: two", "spring: three"]
    # Spring read our headers as its own: the reply topic, and a UUID's 16 bytes to copy back.
    assert [line["reply_topic"] for line in lines] == [replies] * 3
    assert all(len(bytes.fromhex(line["correlation"])) == 16 for line in lines)


async def test_a_spring_replying_template_gets_the_reply_of_a_python_reply_to_listener(
    spring: SpringPeer, listener_settings: KafkaSettings, topic_name: str
) -> None:
    bootstrap = listener_settings.bootstrap_servers
    replies = f"{topic_name}-replies"
    await create_topic(bootstrap, topic_name, partitions=2)
    await create_topic(bootstrap, replies)
    registry = ListenerRegistry()

    # reply_to=True: where Spring's kafka_replyTopic header says.
    @kafka_listener(topic_name, group_id=f"py-{topic_name}", reply_to=True, registry=registry)
    async def answer(text: str) -> str:
        return f"python: {text}"

    async with started(registry, listener_settings):
        lines = await asyncio.to_thread(
            spring.run, "request", topic_name, replies, lines=["alpha", "beta", "gamma"]
        )
    assert [(line["request"], line["reply"]) for line in lines] == [
        ("alpha", "python: alpha"), ("beta", "python: beta"), ("gamma", "python: gamma")
    ]  # fmt: skip
    assert [line["key"] for line in lines] == ["alpha", "beta", "gamma"]  # keyed as requested
    assert len({line["correlation"] for line in lines}) == 3


async def test_the_spring_lessons_batch_factory_and_our_preset_bill_the_same_orders(
    spring: SpringPeer, listener_settings: KafkaSettings, topic_name: str
) -> None:
    # docs/lessons/spring.md, both sides on one topic: Spring's batchFactory (a batch
    # containerFactory, concurrency 2, DefaultErrorHandler + DLPR, FixedBackOff(0, 2)) and our
    # preset with the same options. Each bills the good orders and dead-letters the bad one.
    bootstrap = listener_settings.bootstrap_servers
    await create_topic(bootstrap, topic_name, partitions=2)
    await create_topic(bootstrap, f"{topic_name}-dlt", partitions=2)
    async with KafkaTemplate(listener_settings) as template:
        for order in ("pen:3", "a torn page", "ink:5"):
            await template.send(topic_name, order, key=order)
    # Spring sends "book:12" with its KafkaTemplate, then bills three and dead-letters one.
    lines = await asyncio.to_thread(spring.run, "billing", topic_name, "spring-billing", "4")
    (sent,) = [line for line in lines if "sent_offset" in line]
    assert sent["sent_offset"] >= 0
    assert sorted(line["billed"] for line in lines if "billed" in line) == [
        "book:12",
        "ink:5",
        "pen:3",
    ]
    assert [line["dead_lettered"] for line in lines if "dead_lettered" in line] == ["a torn page"]

    app = KafkaApp(listener_settings)
    recoverer = DeadLetterPublishingRecoverer(app.template)
    handler = DefaultErrorHandler(recoverer, FixedBackOff(0, 2))
    app.preset("batch_factory", batch=True, concurrency=2, error_handler=handler)
    billed: list[str] = []

    @app.listener(topic_name, group_id="kit-billing", preset="batch_factory")
    async def bill(orders: list[str]) -> None:
        for index, order in enumerate(orders):
            if ":" not in order or not order.split(":")[1].isdigit():
                raise BatchListenerFailedError(index, ValueError("not item:amount"))
            billed.append(order)

    async def dead_lettered_twice() -> bool:
        return len(await read_to_end(bootstrap, f"{topic_name}-dlt")) == 2

    async with app:
        await wait_until(lambda: len(billed) == 3, 60, "our preset billed the three orders")
        await wait_until(dead_lettered_twice, 60, "our dead letter beside Spring's")
        (status,) = await app.registry.statuses()
        assert len(status.containers) == 2  # concurrency=2, as setConcurrency(2)
    assert sorted(billed) == ["book:12", "ink:5", "pen:3"]
    letters = await read_to_end(bootstrap, f"{topic_name}-dlt")
    groups = sorted(dict(r.headers)[h.DLT_ORIGINAL_CONSUMER_GROUP] for r in letters)
    assert [r.value for r in letters] == [b"a torn page"] * 2
    assert groups == [b"kit-billing", b"spring-billing"]
