"""``TracingSettings`` (env ``TRACING_*``): whether a service traces, where spans go, where a trace
is shown. Plain settings: importing them needs no part of OpenTelemetry."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["TracingSettings"]


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
