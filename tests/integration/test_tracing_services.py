"""The two services traced into a real Jaeger: one trace from ``POST /events`` to the stored row,
read back from Jaeger's HTTP API (``GET /api/traces/<id>``)."""

from __future__ import annotations

import itertools
import uuid
from pathlib import Path
from typing import Any

import pytest

from consumer_service.app import create_app as create_consumer_app
from consumer_service.settings import EventLogSettings, EventStoreSettings
from event_contract.events import EventsTopicSettings
from kafka_kit import KafkaApp
from kafka_kit.recovery import FixedBackOff, RetryTopics
from kafka_kit.settings import KafkaSettings
from kafka_kit.testing import wait_until, wait_until_sync
from kafka_kit.tracing import TracingSettings
from kafka_kit.tracing.service import ServiceTracing
from producer_service.app import create_app as create_producer_app
from scripts.jaeger import LocalJaeger
from tests.app_helpers import running


def spans_by_name(trace: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The trace's spans by operation name (each with its service name added)."""
    processes = trace["processes"]
    return {
        span["operationName"]: {**span, "service": processes[span["processID"]]["serviceName"]}
        for span in trace["spans"]
    }


def parent_of(span: dict[str, Any]) -> str | None:
    """The span id of a Jaeger span's CHILD_OF reference."""
    refs = [r["spanID"] for r in span.get("references", []) if r["refType"] == "CHILD_OF"]
    return refs[0] if refs else None


def traced_trace(jaeger: LocalJaeger, trace_id: str, names: set[str]) -> dict[str, Any]:
    """Wait until Jaeger holds the trace with every span named in ``names``."""

    def complete() -> dict[str, Any] | None:
        trace = jaeger.trace(trace_id)
        return trace if trace is not None and names <= set(spans_by_name(trace)) else None

    found: dict[str, Any] = wait_until_sync(
        complete, 60, lambda: f"trace {trace_id} with {names}: {jaeger.trace(trace_id)}"
    )
    return found


@pytest.fixture
def tracing(jaeger: LocalJaeger) -> TracingSettings:
    return TracingSettings(
        enabled=True,
        otlp_endpoint=jaeger.otlp_endpoint,
        export_interval_s=0.2,
        ui_url=jaeger.query_url,
    )


async def test_a_posted_event_is_one_trace_from_the_request_to_the_stored_row(
    listener_settings: KafkaSettings,
    topic_name: str,
    tmp_path: Path,
    jaeger: LocalJaeger,
    tracing: TracingSettings,
) -> None:
    events = EventsTopicSettings(topic=topic_name, partitions=2)
    producer = create_producer_app(listener_settings, events, tracing=tracing)
    consumer = create_consumer_app(
        listener_settings,
        events,
        event_log=EventLogSettings(group_id=f"event-log-{topic_name}"),
        store_settings=EventStoreSettings(url=f"sqlite:///{tmp_path}/events.db"),
        tracing=tracing,
    )
    event_id = str(uuid.uuid4())
    async with running(consumer, "consumer") as c, running(producer, "producer") as p:
        posted = await p.post(
            "/events", json={"id": event_id, "type": "order.created", "source": "test"}
        )
        assert posted.status_code == 202, posted.text

        async def stored() -> bool:
            return (await c.get(f"/events/{event_id}")).status_code == 200

        await wait_until(stored, 30, "the event stored")
        row = (await c.get(f"/events/{event_id}")).json()
        trace_id = row["trace_id"]
        assert isinstance(trace_id, str) and len(trace_id) == 32
        names = {"POST /events", f"send {topic_name}", f"process {topic_name}", "store events"}
        spans = spans_by_name(traced_trace(jaeger, trace_id, names))
        # The console links the event to its trace and draws it from Jaeger's API.
        events_page = (await c.get("/console/events")).text
        assert f'href="/console/traces/{trace_id}"' in events_page
        trace_page = (await c.get(f"/console/traces/{trace_id}")).text
        assert (await c.get("/console/traces/not-a-trace")).status_code == 422
    request, send = spans["POST /events"], spans[f"send {topic_name}"]
    process, store = spans[f"process {topic_name}"], spans["store events"]
    # POST → send → process → store, each the parent of the next, across the two services.
    assert parent_of(send) == request["spanID"]
    assert parent_of(process) == send["spanID"]
    assert parent_of(store) == process["spanID"]
    assert (request["service"], send["service"]) == ("producer-service", "producer-service")
    assert (process["service"], store["service"]) == ("consumer-service", "consumer-service")
    tags = {t["key"]: t["value"] for t in process["tags"]}
    assert tags["messaging.system"] == "kafka"
    assert tags["messaging.consumer.group.name"] == f"event-log-{topic_name}"
    assert tags["messaging.kafka.offset"] == row["offset"]
    assert tags["span.kind"] == "consumer"
    assert f'href="{jaeger.query_url}/trace/{trace_id}"' in trace_page
    for span in (request, send, process, store):
        assert f'data-span="{span["spanID"]}"' in trace_page
    assert f'data-span="{store["spanID"]}" data-parent="{process["spanID"]}"' in trace_page


async def test_retry_topics_and_the_dead_letter_topic_keep_the_trace_in_jaeger(
    listener_settings: KafkaSettings, topic_name: str, tracing: TracingSettings, jaeger: LocalJaeger
) -> None:
    traced = ServiceTracing("orders-service", tracing)
    app = KafkaApp(listener_settings, tracing=traced.kafka)
    app.topic(topic_name, partitions=1)
    calls: list[str] = []
    retry = RetryTopics(attempts=2, back_off=FixedBackOff(0.1, None))

    @app.listener(topic_name, group_id=f"g-{topic_name}", retry_topics=retry)
    async def always_fails(value: str) -> None:
        calls.append(value)
        raise ValueError("cannot process")

    dlt = f"{topic_name}-dlt"
    async with app:
        tracer = traced.provider.get_tracer("test")
        with tracer.start_as_current_span("POST /orders") as request:
            await app.template.send(topic_name, "poison")
        trace_id = f"{request.get_span_context().trace_id:032x}"
        await wait_until(lambda: len(calls) == 2, 60, "both deliveries")
    retry_topic = retry.retry_topics(topic_name)[0]
    names = {
        "POST /orders",
        f"send {topic_name}",
        f"process {topic_name}",
        f"send {retry_topic}",
        f"process {retry_topic}",
        f"send {dlt}",
    }
    spans = spans_by_name(traced_trace(jaeger, trace_id, names))
    chain = [
        "POST /orders",
        f"send {topic_name}",
        f"process {topic_name}",
        f"send {retry_topic}",
        f"process {retry_topic}",
    ]
    for parent, child in itertools.pairwise(chain):
        assert parent_of(spans[child]) == spans[parent]["spanID"], (parent, child)
    # Each forward (to the retry topic, then to the dead-letter topic) is a child of the call
    # that failed.
    assert parent_of(spans[f"send {dlt}"]) == spans[f"process {retry_topic}"]["spanID"]
    for failed in (f"process {topic_name}", f"process {retry_topic}"):
        tags = {t["key"]: t["value"] for t in spans[failed]["tags"]}
        assert tags["error.type"] == "ValueError"
        assert tags["otel.status_code"] == "ERROR"
