"""A service's tracing: OTLP export, the kit's spans, FastAPI's request spans, ids in the logs.

.. code-block:: python

    tracing = tracing_for("greeter")          # None unless TRACING_ENABLED=true
    kafka = KafkaApp(tracing=tracing.kafka if tracing else None)
    web = service_app(kafka, state, title="Greeter", description="…", tracing=tracing)

The request's span (FastAPI's OpenTelemetry instrumentation) is the parent of every send the
request makes; ``/health`` and ``/metrics`` are not traced (probes would fill the backend).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from kafka_kit._extras import requires_extra
from kafka_kit.tracing.kafka_tracing import KafkaTracing
from kafka_kit.tracing.logs import TRACE_LOG_FORMAT, install_trace_log_fields
from kafka_kit.tracing.settings import TracingSettings
from kafka_kit.tracing.setup import otlp_tracer_provider

with requires_extra("otel", __name__):
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    from opentelemetry.sdk.trace import TracerProvider

if TYPE_CHECKING:
    from fastapi import FastAPI

    from kafka_kit.app import KafkaApp

__all__ = ["ServiceTracing", "tracing_for"]

_UNTRACED = "/health,/metrics"


class ServiceTracing:
    """A service's tracer provider (OTLP), the ``KafkaTracing`` on it, and its links.

    Args:
        service_name: ``service.name`` (``OTEL_SERVICE_NAME`` overrides it).
        settings: ``TRACING_*`` (read from the environment when omitted).
        provider: Where spans go; an OTLP exporter's provider when omitted.
    """

    def __init__(
        self,
        service_name: str,
        settings: TracingSettings | None = None,
        provider: TracerProvider | None = None,
    ) -> None:
        self.settings = settings or TracingSettings()
        """How the service traces."""
        self.provider = provider or otlp_tracer_provider(service_name, self.settings)
        """Where its spans go."""
        self.kafka = KafkaTracing(self.provider)
        """For ``KafkaApp(tracing=...)``."""

    def install(self, web: FastAPI, kafka: KafkaApp) -> None:
        """Trace ``web``'s requests, put trace ids on log lines, flush spans when ``kafka`` stops.

        Args:
            web: The service's FastAPI app.
            kafka: Its Kafka app; spans still queued are exported after it stopped.
        """
        FastAPIInstrumentor.instrument_app(
            web,
            tracer_provider=self.provider,
            excluded_urls=_UNTRACED,
            # Not a span per ASGI message: the request's span is what a reader looks for.
            exclude_spans=["receive", "send"],
        )
        install_trace_log_fields()
        for handler in logging.getLogger().handlers:
            formatter = handler.formatter
            if (
                formatter is not None
                and formatter._fmt
                and "%(trace_context)" not in formatter._fmt
            ):
                handler.setFormatter(logging.Formatter(TRACE_LOG_FORMAT))

        @kafka.after_shutdown
        async def export_what_is_left() -> None:
            await asyncio.to_thread(self.provider.force_flush)

    def trace_url(self, trace_id: str | None) -> str | None:
        """Where the trace UI shows ``trace_id`` (``TRACING_UI_URL``); ``None`` without one.

        Args:
            trace_id: 32 hex digits, or ``None``.
        """
        if trace_id is None or self.settings.ui_url is None:
            return None
        return f"{self.settings.ui_url.rstrip('/')}/trace/{trace_id}"


def tracing_for(
    service_name: str, settings: TracingSettings | None = None
) -> ServiceTracing | None:
    """The service's tracing when ``TRACING_ENABLED`` is true, else ``None`` (nothing traced).

    Args:
        service_name: ``service.name`` (``OTEL_SERVICE_NAME`` overrides it).
        settings: ``TRACING_*`` (read from the environment when omitted).
    """
    settings = settings or TracingSettings()
    return ServiceTracing(service_name, settings) if settings.enabled else None
