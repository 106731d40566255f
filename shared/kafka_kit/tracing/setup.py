"""Exporting spans: an OTLP ``TracerProvider`` (OpenTelemetry's SDK and its OTLP exporter).

The library's spans need only OpenTelemetry's API; a service that exports them needs the SDK and
the OTLP exporter (the ``otel`` extra). Where they go is OpenTelemetry's own environment:
``OTEL_EXPORTER_OTLP_ENDPOINT`` (``http://localhost:4318`` by default: Jaeger or a Collector),
``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``.
"""

from __future__ import annotations

import os

from kafka_kit._extras import requires_extra
from kafka_kit.tracing.settings import TracingSettings

with requires_extra("otel", __name__):
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

__all__ = ["otlp_tracer_provider"]


def otlp_tracer_provider(service_name: str, settings: TracingSettings) -> TracerProvider:
    """A provider exporting spans over OTLP/HTTP in batches; shut it down to flush.

    Args:
        service_name: ``service.name`` unless ``OTEL_SERVICE_NAME`` names another.
        settings: How often to export.
    """
    name = os.environ.get("OTEL_SERVICE_NAME") or service_name
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    provider.add_span_processor(
        BatchSpanProcessor(
            OTLPSpanExporter(
                endpoint=f"{settings.otlp_endpoint.rstrip('/')}/v1/traces"
                if settings.otlp_endpoint
                else None
            ),
            schedule_delay_millis=settings.export_interval_s * 1000,
        )
    )
    return provider
