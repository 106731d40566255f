"""kafka_kit.tracing's parts without a broker: the spans need OpenTelemetry's API alone, the
exporting parts name the extra, a service's log lines get trace ids."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from opentelemetry.sdk.trace import TracerProvider

from kafka_kit import KafkaApp, KafkaSettings
from kafka_kit.tracing import trace_id_of
from kafka_kit.tracing.conventions import error_type, key_text, span_name
from kafka_kit.tracing.service import ServiceTracing
from kafka_kit.tracing.settings import TracingSettings
from kafka_kit.web.service import LOG_FORMAT
from tests.blocked_imports import import_outcomes

_STAMP = """
from kafka_kit.tracing import KafkaTracing
from kafka_kit.records import ProducerRecord
tracing = KafkaTracing()  # the API's proxy provider: nothing recorded, nothing exported
outcomes["stamped"] = list(tracing.stamped(ProducerRecord("t", b"v")).headers)
"""


def test_the_spans_need_the_api_only_and_exporting_names_the_extra() -> None:
    exporting = ("kafka_kit.tracing.setup", "kafka_kit.tracing.service")
    blocked = ("opentelemetry.sdk", "opentelemetry.exporter", "opentelemetry.instrumentation")
    outcomes = import_outcomes(blocked, exporting, first=_STAMP)
    assert outcomes["stamped"] == []  # no span current: the record is left as it is
    for module in exporting:
        assert str(outcomes[module]).startswith("MissingExtraError"), outcomes
        assert "pip install 'kafka-kit[otel]'" in str(outcomes[module])


def test_a_records_trace_id_is_read_from_its_traceparent() -> None:
    parent = b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    assert trace_id_of([("traceparent", parent)]) == "0af7651916cd43dd8448eb211c80319c"
    assert trace_id_of([("other", b"x")]) is None
    assert trace_id_of([("traceparent", b"not a traceparent")]) is None


def test_the_convention_helpers() -> None:
    assert key_text(None) is None
    assert key_text(b"\xff" + b"k" * 300) == "\ufffd" + "k" * 255
    assert error_type(ValueError("x")) == "ValueError"
    assert error_type(TracingSettingsError()) == f"{__name__}.TracingSettingsError"
    assert span_name("process", ["a", "a"]) == "process a"
    assert span_name("process", ["a", "b"]) == "process"


class TracingSettingsError(Exception):
    pass


def test_a_traced_service_logs_trace_ids_while_a_span_is_current() -> None:
    root = logging.getLogger()
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root.addHandler(handler)
    provider = TracerProvider()
    try:
        tracing = ServiceTracing("svc", TracingSettings(enabled=True), provider=provider)
        tracing.install(FastAPI(), KafkaApp(KafkaSettings()))
        assert handler.formatter is not None
        record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)
        plain = handler.format(logging.makeLogRecord(record.__dict__ | {"trace_context": ""}))
        assert plain.endswith("x: hello")
        with provider.get_tracer("t").start_as_current_span("work") as span:
            made = logging.getLogRecordFactory()("x", logging.INFO, __file__, 1, "hi", None, None)
        ids = span.get_span_context()
        assert made.trace_id == f"{ids.trace_id:032x}"  # type: ignore[attr-defined]
        assert f"trace_id={ids.trace_id:032x} span_id={ids.span_id:016x}: hi" in handler.format(
            made
        )
        assert tracing.trace_url("ab" * 16) is None  # no TRACING_UI_URL
        linked = ServiceTracing("svc", TracingSettings(ui_url="http://j:16686/"), provider=provider)
        assert linked.trace_url("ab" * 16) == f"http://j:16686/trace/{'ab' * 16}"
    finally:
        root.removeHandler(handler)
