"""Exporting spans: ``TracingSettings`` from the environment and an OTLP ``TracerProvider``.

The library's spans need only OpenTelemetry's API; a service that exports them needs the SDK and
the OTLP exporter (the ``otel`` extra). Where they go is OpenTelemetry's own environment:
``OTEL_EXPORTER_OTLP_ENDPOINT`` (``http://localhost:4318`` by default: Jaeger or a Collector),
``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``.
"""

from __future__ import annotations

import os

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from kafka_kit._extras import requires_extra

with requires_extra("otel", __name__):
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

__all__ = ["TracingSettings", "otlp_tracer_provider"]


class TracingSettings(BaseSettings):
    """``TRACING_*``: whether a service traces, how often it exports, where a trace is shown."""

    model_config = SettingsConfigDict(env_prefix="TRACING_", extra="ignore")

    enabled: bool = Field(
        default=False,
        description="spans around HTTP requests, sends and listener calls, exported over OTLP "
        "(OTEL_EXPORTER_OTLP_ENDPOINT)",
    )
    """Spans around HTTP requests, sends and listener calls, exported over OTLP."""
    export_interval_s: float = Field(
        default=1.0, gt=0, description="seconds between exports of finished spans"
    )
    """Seconds between exports of finished spans."""
    otlp_endpoint: str | None = Field(
        default=None,
        description="where spans are sent over OTLP/HTTP (e.g. http://127.0.0.1:4318); "
        "OTEL_EXPORTER_OTLP_ENDPOINT's when unset",
    )
    """Where spans are sent over OTLP/HTTP; ``OTEL_EXPORTER_OTLP_ENDPOINT``'s when unset."""
    ui_url: str | None = Field(
        default=None,
        description="a trace UI (Jaeger's, e.g. http://127.0.0.1:16686): the console links each "
        "stored event to its trace there",
    )
    """A trace UI (Jaeger's): links go to ``<ui_url>/trace/<trace id>``."""


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
