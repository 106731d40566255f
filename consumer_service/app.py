"""The consumer service's FastAPI application: the lifespan starts the listener containers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from consumer_service import listeners  # noqa: F401 - importing registers the listeners
from consumer_service.burrow_routes import BurrowNotFound, not_found
from consumer_service.burrow_routes import router as burrow_router
from consumer_service.cluster_routes import router as cluster_router
from consumer_service.dlt_routes import router as dlt_router
from consumer_service.routes import router
from shared.admin import KafkaAdmin
from shared.back_off import ExponentialBackOff
from shared.dead_letter import DeadLetterPublishingRecoverer
from shared.dead_letter_replay import DeadLetterReplayer
from shared.error_handler import DefaultErrorHandler
from shared.event_store import EventStore, event_store_for
from shared.gc_tuning import GcSettings, tuned_garbage_collector
from shared.lag.monitor import LagMonitors
from shared.metrics import LagCollector
from shared.registry import ListenerRegistry, default_registry
from shared.settings import (
    EventsTopicSettings,
    EventStoreSettings,
    KafkaSettings,
    LagSettings,
    ListenerRetrySettings,
)
from shared.template import KafkaTemplate


def create_app(
    settings: KafkaSettings | None = None,
    events: EventsTopicSettings | None = None,
    registry: ListenerRegistry | None = None,
    *,
    retry: ListenerRetrySettings | None = None,
    lag: LagSettings | None = None,
    store_settings: EventStoreSettings | None = None,
    gc_settings: GcSettings | None = None,
) -> FastAPI:
    """Build the app; containers start in the lifespan and stop (committing) when it ends.

    Every listener retries with exponential back-off, then dead-letters to ``<topic>-dlt``.
    Lag is watched, Burrow-style, on every cluster of ``LAG_CLUSTERS``.
    """
    settings = settings or KafkaSettings()
    events = events or EventsTopicSettings()
    registry = registry or default_registry
    retry = retry or ListenerRetrySettings()
    monitors = LagMonitors(settings, lag or LagSettings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await KafkaAdmin(settings).ensure_topics(events.declarations())
        async with KafkaTemplate(settings) as template:
            error_handler = DefaultErrorHandler(
                DeadLetterPublishingRecoverer(template),
                ExponentialBackOff(retry.initial_s, retry.multiplier, retry.max_s, retry.attempts),
            )
            app.state.registry = registry
            app.state.dead_letters = DeadLetterReplayer(settings, template)
            store = event_store_for((store_settings or EventStoreSettings()).url)
            await store.open()
            app.state.event_store = store
            await monitors.start()
            try:
                await registry.start(
                    settings,
                    error_handler=error_handler,
                    template=template,
                    dependencies={EventStore: store},
                )
                try:
                    with tuned_garbage_collector(gc_settings):
                        yield
                finally:
                    await registry.stop()
            finally:
                await monitors.stop()
                await store.close()

    app = FastAPI(
        title="Event consumer",
        description="Runs the @kafka_listener containers; their state, dead letters, lag.",
        lifespan=lifespan,
    )
    app.state.kafka_settings = settings
    app.state.lag_monitors = monitors
    app.state.metrics_registry = CollectorRegistry()
    app.state.metrics_registry.register(LagCollector(monitors))
    app.add_exception_handler(BurrowNotFound, not_found)  # type: ignore[arg-type]
    app.include_router(router)
    app.include_router(dlt_router)
    app.include_router(cluster_router)
    app.include_router(burrow_router)
    return app
