"""Distributed tracing with OpenTelemetry: spans around sends and listener calls, W3C trace
context in record headers (Spring's ``observationEnabled``, FastStream's telemetry middleware).

.. code-block:: python

    from kafka_kit import KafkaApp
    from kafka_kit.tracing import KafkaTracing

    app = KafkaApp(tracing=KafkaTracing())  # OpenTelemetry's global provider

The spans need OpenTelemetry's API only (what FastAPI installs too); exporting them needs the
SDK and the OTLP exporter (``kafka_kit.tracing.setup``), a service's request spans FastAPI's
instrumentation (``kafka_kit.tracing.service``): the ``otel`` extra has all of them
(``pip install 'kafka-kit[otel]'``).
"""

from __future__ import annotations

from kafka_kit._extras import requires_extra

with requires_extra("otel", __name__):
    import opentelemetry.trace  # noqa: F401 - the extra's check, before the parts import it

from kafka_kit.tracing.ids import current_ids, trace_id_of
from kafka_kit.tracing.kafka_tracing import KafkaTracing, record_spans
from kafka_kit.tracing.logs import TRACE_LOG_FORMAT, install_trace_log_fields
from kafka_kit.tracing.settings import TracingSettings

__all__ = [
    "TRACE_LOG_FORMAT",
    "KafkaTracing",
    "TracingSettings",
    "current_ids",
    "install_trace_log_fields",
    "record_spans",
    "trace_id_of",
]
