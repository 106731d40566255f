"""Distributed tracing with OpenTelemetry: spans around sends and listener calls, W3C trace
context in record headers (Spring's ``observationEnabled``, FastStream's telemetry middleware).

.. code-block:: python

    from kafka_kit import KafkaApp
    from kafka_kit.tracing import KafkaTracing

    app = KafkaApp(tracing=KafkaTracing())  # OpenTelemetry's global provider

Needs the ``otel`` extra (``pip install 'kafka-kit[otel]'``).
"""

from __future__ import annotations

from kafka_kit._extras import requires_extra

with requires_extra("otel", __name__):
    import opentelemetry.trace  # noqa: F401 - the extra's check, before the parts import it

from kafka_kit.tracing.ids import current_ids, trace_id_of
from kafka_kit.tracing.kafka_tracing import KafkaTracing, record_spans
from kafka_kit.tracing.logs import TRACE_LOG_FORMAT, install_trace_log_fields
from kafka_kit.tracing.service import ServiceTracing, tracing_for
from kafka_kit.tracing.setup import TracingSettings, otlp_tracer_provider

__all__ = [
    "TRACE_LOG_FORMAT",
    "KafkaTracing",
    "ServiceTracing",
    "TracingSettings",
    "current_ids",
    "install_trace_log_fields",
    "otlp_tracer_provider",
    "record_spans",
    "trace_id_of",
    "tracing_for",
]
