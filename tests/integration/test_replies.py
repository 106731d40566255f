"""Request/reply against a real broker: ``reply_to`` listeners and ``ReplyingKafkaTemplate``,
correlated by Spring's headers; timeouts name the request; late replies go to nobody; a
transactional listener's reply commits with its transaction."""

from __future__ import annotations

import asyncio
import logging

import pytest
from aiokafka import AIOKafkaConsumer

from kafka_kit import ConsumerRecord, KafkaApp, KafkaSettings
from kafka_kit import headers as h
from kafka_kit.recovery import DefaultErrorHandler, FixedBackOff
from kafka_kit.replies import KafkaReplyTimeoutError, ReplyingKafkaTemplate
from kafka_kit.testing import committed_offsets, wait_until
from tests.kafka_helpers import create_topic, produce


async def test_requests_get_their_own_replies_from_a_reply_to_listener(
    listener_settings: KafkaSettings, topic_name: str
) -> None:
    app = KafkaApp(listener_settings)
    app.topic(topic_name, partitions=3)
    app.topic(f"{topic_name}-replies", partitions=2)

    # reply_to=True: to the topic the request names (Spring's @SendTo without a value).
    @app.listener(topic_name, group_id=f"r-{topic_name}", reply_to=True, concurrency=2)
    async def shout(text: str) -> str:
        await asyncio.sleep(0.01 * (len(text) % 3))  # replies come back out of order
        return text.upper()

    async with app, ReplyingKafkaTemplate(app.template, f"{topic_name}-replies") as replying:
        words = [f"word-{n}" for n in range(20)]
        replies = await asyncio.gather(
            *(
                replying.request_value(topic_name, word, str, key=word, timeout_s=30)
                for word in words
            )
        )
        assert replies == [word.upper() for word in words]
        reply = await replying.request(topic_name, "one", key="k-one", timeout_s=30)
        assert reply.topic == f"{topic_name}-replies" and reply.key == b"k-one"
        correlation = h.last(reply.headers, h.CORRELATION_ID)
        assert correlation is not None and len(correlation) == 16  # a UUID's bytes, as Spring


async def test_a_timeout_names_the_request_and_a_late_reply_reaches_nobody(
    listener_settings: KafkaSettings, topic_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    bootstrap = listener_settings.bootstrap_servers
    await create_topic(bootstrap, topic_name)
    await create_topic(bootstrap, f"{topic_name}-replies")
    app = KafkaApp(listener_settings)
    async with app, ReplyingKafkaTemplate(app.template, f"{topic_name}-replies") as replying:
        with pytest.raises(KafkaReplyTimeoutError) as raised:
            await replying.request(topic_name, "anyone?", timeout_s=0.5)
        message = str(raised.value)
        assert f"{topic_name}-replies" in message and f"sent to {topic_name}" in message
        late_id = bytes.fromhex(message.split("correlation id ")[1].split(")", maxsplit=1)[0])
        # The answer comes late, while another request waits: it is not handed to that one.
        waiting = asyncio.create_task(replying.request(topic_name, "second", timeout_s=30))
        await wait_until(lambda: len(replying._pending.waiting) == 1, 10, "the second request")
        caplog.set_level(logging.WARNING, "kafka_kit.replies")
        late = [(h.CORRELATION_ID, late_id)]
        await app.template.send(f"{topic_name}-replies", "late answer", headers=late)
        await wait_until(lambda: "late reply" in caplog.text, 30, "the late reply logged")
        assert not waiting.done()
        (second_id,) = replying._pending.waiting
        await app.template.send(
            f"{topic_name}-replies", "its answer", headers=[(h.CORRELATION_ID, second_id)]
        )
        assert (await waiting).value == b"its answer"


async def test_a_transactional_listener_replies_inside_its_transaction(
    listener_settings: KafkaSettings, topic_name: str
) -> None:
    bootstrap = listener_settings.bootstrap_servers
    replies = f"{topic_name}-out"
    app = KafkaApp(listener_settings)
    app.topic(topic_name, partitions=1)
    app.topic(replies, partitions=1)
    recovered: list[int] = []
    seen: list[str] = []

    class Recover:
        async def recover(self, record: ConsumerRecord, exc: Exception, context: object) -> None:
            recovered.append(record.offset)

    @app.listener(
        topic_name,
        group_id=f"tx-{topic_name}",
        transactional=True,
        reply_to=replies,
        error_handler=DefaultErrorHandler(Recover(), FixedBackOff(0, 0)),
        max_poll_records=10,
    )
    async def answer(text: str) -> str:
        seen.append(text)
        if text == "poison":
            raise ValueError("no answer")
        return f"re: {text}"

    # Both there before the listener starts: its first poll (one transaction) holds both.
    await create_topic(bootstrap, topic_name)
    await produce(bootstrap, topic_name, [b"hello", b"poison"])
    await app.start()
    try:
        group = f"tx-{topic_name}"

        async def committed_both() -> bool:
            return await committed_offsets(bootstrap, group) == {(topic_name, 0): 2}

        await wait_until(committed_both, 60, "both offsets committed (the poison recovered)")
        assert recovered == [1]
    finally:
        await app.stop()
    committed = await _values(bootstrap, replies, "read_committed")
    everything = await _values(bootstrap, replies, "read_uncommitted")
    assert committed == [b"re: hello"]  # exactly once, though handled twice
    assert everything.count(b"re: hello") == seen.count("hello")
    assert seen.count("hello") == 2  # the rolled-back transaction's reply was aborted with it


async def _values(bootstrap: str, topic: str, isolation: str) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        isolation_level=isolation,
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        values: list[bytes] = []
        while True:
            batch = await consumer.getmany(timeout_ms=1500)
            if not batch:
                return values
            values += [r.value for records in batch.values() for r in records if r.value]
    finally:
        await consumer.stop()
