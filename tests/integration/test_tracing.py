"""Tracing against a real broker: one trace from a send through record and batch listeners,
retries, retry topics, the dead-letter topic, its replay, replies and the outbox; spans kept in
memory (kafka_kit.testing.spans), trace context read back from the records' headers."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

from kafka_kit import ConsumerRecord, KafkaApp, KafkaSettings
from kafka_kit.outbox import Outbox
from kafka_kit.recovery import (
    DeadLetterPublishingRecoverer,
    DeadLetterReplayer,
    DefaultErrorHandler,
    FixedBackOff,
    RetryTopics,
)
from kafka_kit.testing import wait_until
from kafka_kit.testing.spans import SpanRecorder
from kafka_kit.tracing import install_trace_log_fields, record_spans, trace_id_of
from tests.kafka_helpers import create_topic, read_to_end

log = logging.getLogger("tests.traced")


def _trace_ids(spans: Sequence[ReadableSpan]) -> set[int]:
    return {span.context.trace_id for span in spans}


def _is_child(child: ReadableSpan, parent: ReadableSpan) -> bool:
    return child.parent is not None and child.parent.span_id == parent.context.span_id


async def test_a_send_and_the_record_listener_that_handles_it_are_one_trace(
    listener_settings: KafkaSettings, topic_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    spans = SpanRecorder()
    install_trace_log_fields()
    app = KafkaApp(listener_settings, tracing=spans.tracing)
    app.topic(topic_name, partitions=2)
    handled: list[str | None] = []

    @app.listener(topic_name, group_id=f"g-{topic_name}")
    async def handle(value: str, record: ConsumerRecord) -> None:
        log.info("handling %s", value)
        handled.append(trace_id_of(record.headers))

    caplog.set_level(logging.INFO, logger="tests.traced")
    async with app:
        with spans.provider.get_tracer("test").start_as_current_span("POST /orders") as request:
            result = await app.template.send(topic_name, "hello", key="order-1")
        await wait_until(lambda: bool(spans.named(f"process {topic_name}")), 30, "the process span")

    send, process = spans.one(f"send {topic_name}"), spans.one(f"process {topic_name}")
    posted = spans.one("POST /orders")
    assert _is_child(send, posted) and _is_child(process, send)
    assert _trace_ids([posted, send, process]) == {request.get_span_context().trace_id}
    assert (send.kind, process.kind) == (SpanKind.PRODUCER, SpanKind.CONSUMER)
    assert send.attributes is not None and process.attributes is not None
    assert dict(send.attributes) == {
        "messaging.system": "kafka",
        "messaging.operation.name": "send",
        "messaging.operation.type": "send",
        "messaging.destination.name": topic_name,
        "messaging.kafka.message.key": "order-1",
        "messaging.destination.partition.id": str(result.partition),
        "messaging.kafka.offset": result.offset,
    }
    assert process.attributes["messaging.consumer.group.name"] == f"g-{topic_name}"
    assert process.attributes["messaging.kafka.offset"] == result.offset
    assert process.attributes["messaging.destination.partition.id"] == str(result.partition)
    assert process.attributes["kafka_kit.listener.id"] == "handle"
    # The record carries the send's context; the handler's log line the process span's ids.
    assert handled == [trace.format_trace_id(send.context.trace_id)]
    line = next(r for r in caplog.records if r.getMessage() == "handling hello")
    assert line.trace_id == trace.format_trace_id(process.context.trace_id)  # type: ignore[attr-defined]
    assert line.span_id == trace.format_span_id(process.context.span_id)  # type: ignore[attr-defined]


async def test_a_batch_call_links_every_record_and_each_record_gets_its_own_span(
    listener_settings: KafkaSettings, topic_name: str
) -> None:
    spans = SpanRecorder()
    app = KafkaApp(listener_settings, tracing=spans.tracing)
    app.topic(topic_name, partitions=1)
    batches: list[int] = []

    @app.listener(topic_name, group_id=f"g-{topic_name}", batch=True)
    async def store(records: list[ConsumerRecord]) -> None:
        with record_spans("store events", records):
            batches.append(len(records))

    tracer = spans.provider.get_tracer("test")
    async with app:
        app.registry.pause("store")
        for n in range(3):
            with tracer.start_as_current_span(f"request {n}"):
                await app.template.send(topic_name, f"event {n}")
        app.registry.resume("store")
        await wait_until(lambda: sum(batches) == 3, 30, "three records stored")

    requests = [spans.one(f"request {n}") for n in range(3)]
    sends = spans.named(f"send {topic_name}")
    processes = spans.named(f"process {topic_name}")
    batch_spans = [s for s in processes if "messaging.batch.message_count" in (s.attributes or {})]
    record_spans_ = [s for s in processes if s not in batch_spans]
    stores = spans.named("store events")
    assert len(sends) == len(record_spans_) == len(stores) == 3
    # Each event's trace: request → send → process → store.
    for request in requests:
        send = next(s for s in sends if _is_child(s, request))
        process = next(s for s in record_spans_ if _is_child(s, send))
        assert any(_is_child(s, process) for s in stores)
    # The batch spans link to every record's send (OpenTelemetry's batch convention).
    linked = {link.context.span_id for span in batch_spans for link in span.links}
    assert linked == {s.context.span_id for s in sends}
    counted = [(s.attributes or {})["messaging.batch.message_count"] for s in batch_spans]
    assert sum(int(str(n)) for n in counted) == 3


async def test_retries_the_dead_letter_topic_and_its_replay_keep_the_trace(
    listener_settings: KafkaSettings, topic_name: str
) -> None:
    spans = SpanRecorder()
    dlt = f"{topic_name}-dlt"
    await create_topic(listener_settings.bootstrap_servers, dlt)
    app = KafkaApp(listener_settings, tracing=spans.tracing)
    app.topic(topic_name, partitions=1)
    deliveries: list[str] = []
    app.error_handler = DefaultErrorHandler(
        DeadLetterPublishingRecoverer(app.template), back_off=FixedBackOff(0.05, 2)
    )

    @app.listener(topic_name, group_id=f"g-{topic_name}")
    async def fails(value: str) -> None:
        deliveries.append(value)
        if value == "poison":
            raise ValueError("cannot process poison")

    async with app:
        with spans.provider.get_tracer("test").start_as_current_span("request") as request:
            await app.template.send(topic_name, "poison")
        await wait_until(lambda: bool(spans.named(f"send {dlt}")), 30, "the dead letter's send")
        replayer = DeadLetterReplayer(listener_settings, app.template)
        sent, _ = await replayer.replay(dlt)
        assert len(sent) == 1
        await wait_until(lambda: len(deliveries) == 6, 30, "the replayed record's deliveries")
        await wait_until(lambda: len(spans.named(f"send {dlt}")) == 2, 30, "its dead letter")

    trace_id = request.get_span_context().trace_id
    failed = spans.named(f"process {topic_name}")
    assert len(failed) == 6  # 3 deliveries, then 3 more after the replay
    assert all(s.status.status_code is StatusCode.ERROR for s in failed)
    assert {s.attributes["error.type"] for s in failed if s.attributes} == {"ValueError"}
    every = spans.finished()
    assert _trace_ids(every) == {trace_id}, [s.name for s in every]
    # The replay continues from the dead letter it republishes; its sends are its children.
    first_dlt = spans.named(f"send {dlt}")[0]
    replay = spans.one(f"replay {dlt}")
    assert _is_child(replay, first_dlt)
    replay_sends = [s for s in spans.named(f"send {topic_name}") if _is_child(s, replay)]
    assert len(replay_sends) == 1
    assert len(await read_to_end(listener_settings.bootstrap_servers, dlt)) == 2


async def test_retry_topics_and_replies_keep_the_trace(
    listener_settings: KafkaSettings, topic_name: str
) -> None:
    spans = SpanRecorder()
    replies = f"{topic_name}-replies"
    app = KafkaApp(listener_settings, tracing=spans.tracing)
    app.topic(topic_name, partitions=1)
    app.topic(replies, partitions=1)
    attempts: list[int] = []
    answered: list[str] = []

    @app.listener(
        topic_name,
        group_id=f"g-{topic_name}",
        retry_topics=RetryTopics(attempts=2, back_off=FixedBackOff(0.1, None)),
        reply_to=replies,
    )
    async def flaky(value: str) -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("first time")
        return value.upper()

    @app.listener(replies, group_id=f"g-{replies}")
    async def read_reply(value: str) -> None:
        answered.append(value)

    async with app:
        with spans.provider.get_tracer("test").start_as_current_span("request") as request:
            await app.template.send(topic_name, "ping")
        await wait_until(lambda: answered == ["PING"], 60, "the reply")
        await wait_until(lambda: bool(spans.named(f"process {replies}")), 30, "the reply's span")

    assert _trace_ids(spans.finished()) == {request.get_span_context().trace_id}
    retried = next(s for s in spans.finished() if s.name.startswith(f"send {topic_name}-retry"))
    first = spans.one(f"process {topic_name}")
    assert first.status.status_code is StatusCode.ERROR
    retry_topic = str((retried.attributes or {})["messaging.destination.name"])
    second = spans.one(f"process {retry_topic}")
    assert _is_child(second, retried)
    reply = spans.one(f"send {replies}")
    assert _is_child(reply, second)
    assert _is_child(spans.one(f"process {replies}"), reply)


async def test_the_outbox_relay_continues_the_trace_of_the_request_that_queued_a_record(
    listener_settings: KafkaSettings, topic_name: str, tmp_path: Path
) -> None:
    spans = SpanRecorder()
    app = KafkaApp(listener_settings, tracing=spans.tracing)
    app.topic(topic_name, partitions=1)
    async with app:
        outbox = Outbox(tmp_path / "outbox.db", app.template)
        await outbox.start()
        try:
            tracer = spans.provider.get_tracer("test")
            with tracer.start_as_current_span("POST /events") as request:
                await outbox.enqueue([app.template.build_record(topic_name, "queued")])
            await wait_until(
                lambda: bool(spans.named(f"send {topic_name}")), 30, "the relay's send"
            )
        finally:
            await outbox.stop()
    send = spans.one(f"send {topic_name}")
    assert _is_child(send, spans.one("POST /events"))
    assert send.context.trace_id == request.get_span_context().trace_id
    stored = await read_to_end(listener_settings.bootstrap_servers, topic_name)
    sent_in = trace.format_trace_id(send.context.trace_id)
    assert [trace_id_of(r.headers) for r in stored] == [sent_in]


async def test_without_tracing_nothing_is_written_to_the_headers(
    listener_settings: KafkaSettings, topic_name: str
) -> None:
    app = KafkaApp(listener_settings)
    app.topic(topic_name, partitions=1)
    async with app:
        await app.template.send(topic_name, "plain")
    [record] = await read_to_end(listener_settings.bootstrap_servers, topic_name)
    assert [name for name, _ in record.headers] == []
