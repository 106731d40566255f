"""Traces across Python and Spring: the peer runs with observation on (Micrometer's OpenTelemetry
bridge, exported to the same real Jaeger), and each side's spans continue the other's trace."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from opentelemetry import trace

from event_contract.events import EventsTopicSettings
from kafka_kit import KafkaApp, KafkaSettings
from kafka_kit.testing import wait_until
from kafka_kit.tracing import TracingSettings
from kafka_kit.tracing.service import ServiceTracing
from producer_service.app import create_app as create_producer_app
from scripts.jaeger import LocalJaeger
from tests.app_helpers import running
from tests.integration.test_tracing_services import parent_of, spans_by_name, traced_trace
from tests.kafka_helpers import create_topic
from tests.spring import SpringPeer


def _settings(jaeger: LocalJaeger) -> TracingSettings:
    return TracingSettings(enabled=True, otlp_endpoint=jaeger.otlp_endpoint, export_interval_s=0.2)


async def test_a_trace_started_by_a_post_continues_in_a_spring_kafka_listener(
    listener_settings: KafkaSettings, topic_name: str, jaeger: LocalJaeger, tmp_path: Path
) -> None:
    await create_topic(listener_settings.bootstrap_servers, topic_name)
    events = EventsTopicSettings(topic=topic_name, partitions=1)
    producer = create_producer_app(listener_settings, events, tracing=_settings(jaeger))
    spring = SpringPeer(
        listener_settings.bootstrap_servers, OTEL_EXPORTER_OTLP_ENDPOINT=jaeger.otlp_endpoint
    )
    listening = spring.start("traced-listen", topic_name, f"spring-{topic_name}", "1")
    try:
        async with running(producer, "producer") as p:
            event = {"id": str(uuid.uuid4()), "type": "order.created", "source": "test"}
            assert (await p.post("/events", json=event)).status_code == 202
        [line] = await asyncio.to_thread(SpringPeer.finish, listening)
    finally:
        if listening.poll() is None:
            listening.kill()
    trace_id = line["trace_id"]
    # The Spring listener ran in the trace the POST started: its traceparent names our send.
    assert line["traceparent"].split("-")[1] == trace_id
    sent_by = line["traceparent"].split("-")[2]
    found = traced_trace(jaeger, trace_id, {"POST /events", f"send {topic_name}"})
    spans = spans_by_name(found)
    assert spans[f"send {topic_name}"]["spanID"] == sent_by
    assert parent_of(spans[f"send {topic_name}"]) == spans["POST /events"]["spanID"]

    def springs_span() -> bool:
        again = jaeger.trace(trace_id) or {"spans": [], "processes": {}}
        return any(s["spanID"] == line["span_id"] for s in again["spans"])

    await wait_until(springs_span, 60, "the Spring listener's span in Jaeger")
    spring_span = next(
        s for s in (jaeger.trace(trace_id) or {})["spans"] if s["spanID"] == line["span_id"]
    )
    assert parent_of(spring_span) == sent_by
    by_service = spans_by_name(jaeger.trace(trace_id) or {})
    assert {s["service"] for s in by_service.values()} >= {"producer-service", "spring-peer"}


async def test_a_spring_kafka_template_send_continues_in_our_listener(
    listener_settings: KafkaSettings, topic_name: str, jaeger: LocalJaeger
) -> None:
    await create_topic(listener_settings.bootstrap_servers, topic_name)
    tracing = ServiceTracing("python-listener", _settings(jaeger))
    app = KafkaApp(listener_settings, tracing=tracing.kafka)
    seen: list[tuple[str, str]] = []

    @app.listener(topic_name, group_id=f"py-{topic_name}")
    async def handle(value: str) -> None:
        context = trace.get_current_span().get_span_context()
        seen.append(
            (trace.format_trace_id(context.trace_id), trace.format_span_id(context.span_id))
        )

    spring = SpringPeer(
        listener_settings.bootstrap_servers, OTEL_EXPORTER_OTLP_ENDPOINT=jaeger.otlp_endpoint
    )
    async with app:
        [sent] = await asyncio.to_thread(spring.run, "traced-send", topic_name, lines=["hello"])
        await wait_until(lambda: bool(seen), 30, "our listener's call")
    await asyncio.to_thread(tracing.provider.force_flush)
    _, trace_id, spring_span_id, _ = sent["traceparent"].split("-")
    [(our_trace, our_span)] = seen
    assert our_trace == trace_id  # the same trace on both sides
    found = traced_trace(jaeger, trace_id, {f"process {topic_name}"})
    spans = spans_by_name(found)
    process = spans[f"process {topic_name}"]
    assert process["spanID"] == our_span
    assert parent_of(process) == spring_span_id  # Spring's send span is its parent
    assert process["service"] == "python-listener"

    def springs_send() -> bool:
        return any(s["spanID"] == spring_span_id for s in (jaeger.trace(trace_id) or {})["spans"])

    await wait_until(springs_send, 60, "Spring's send span in Jaeger")
    spring_send = next(
        s for s in (jaeger.trace(trace_id) or {})["spans"] if s["spanID"] == spring_span_id
    )
    kinds = {t["key"]: t["value"] for t in spring_send["tags"]}
    assert kinds["span.kind"] == "producer"
