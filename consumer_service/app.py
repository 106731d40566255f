"""The consumer service's FastAPI application: the lifespan starts the listener containers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from prometheus_client import REGISTRY, CollectorRegistry
from starlette.datastructures import State

from consumer_service.burrow_routes import BurrowNotFound, not_found
from consumer_service.burrow_routes import router as burrow_router
from consumer_service.cluster_routes import router as cluster_router
from consumer_service.connect_routes import router as connect_router
from consumer_service.dlt_routes import router as dlt_router
from consumer_service.event_stats import EventStats, EventStatsSettings, build_event_stats
from consumer_service.event_store import EventStore, describe_store, event_store_for, keep_for
from consumer_service.listeners import RecentEvents, register_event_log
from consumer_service.order_changes import (
    OrderChanges,
    OrderChangesSettings,
    register_order_changes,
)
from consumer_service.routes import router
from consumer_service.settings import (
    EventLogSettings,
    EventStatsStreamsSettings,
    EventStoreSettings,
    ListenerRetrySettings,
)
from consumer_service.streams_routes import router as streams_router
from event_contract.events import EventsTopicSettings
from kafka_kit import KafkaApp, KafkaSettings, ListenerRegistry
from kafka_kit._internal.cancellation import cancel_and_wait
from kafka_kit.connect import ConnectClient, ConnectError, ConnectSettings
from kafka_kit.lag import LagMonitors
from kafka_kit.metrics import LagCollector
from kafka_kit.recovery import (
    DeadLetterPublishingRecoverer,
    DeadLetterReplayer,
    DefaultErrorHandler,
    ExponentialBackOff,
)
from kafka_kit.settings import LagSettings
from kafka_kit.streams import StreamsApplication, StreamsCollector, StreamsSettings
from kafka_kit.web import include_listeners
from kafka_kit.web.auth import ApiTokens, SessionCookie, install_access, rules
from kafka_kit.web.basics import service_basics
from kafka_kit.web.connect_answers import (
    UNREACHABLE,
    connect_error_answer,
    connect_unreachable_answer,
)
from kafka_kit.web.console import (
    CONSOLE_ACCESS,
    ConsoleSettings,
    ConsoleSources,
    install_console,
)
from kafka_kit.web.gc_tuning import GcSettings, tuned_garbage_collector
from kafka_kit.web.service import ServiceSettings

SETTINGS = (
    KafkaSettings,
    EventsTopicSettings,
    EventLogSettings,
    EventStoreSettings,
    ListenerRetrySettings,
    LagSettings,
    EventStatsStreamsSettings,
    EventStatsSettings,
    ConnectSettings,
    OrderChangesSettings,
    ApiTokens,
    ConsoleSettings,
    GcSettings,
    ServiceSettings,
)
"""Every settings class the service reads from the environment."""

ACCESS = (
    *rules(
        (r"/events(/.*)?", "read", ["GET"]),
        (r"/listeners(/[^/]+)?", "read", ["GET"]),
        (r"/dlt/[^/]+", "read", ["GET"]),
        (r"/lag/[^/]+", "read", ["GET"]),
        (r"/cluster", "read", ["GET"]),
        (r"/v3/kafka(/.*)?", "read", ["GET"]),
        (r"/streams(/.*)?", "read", ["GET"]),
        (r"/connect/connectors(/[^/]+(/offsets)?)?", "read", ["GET"]),
        (r"/orders/changes", "read", ["GET"]),
    ),
    *CONSOLE_ACCESS,
)
"""Who may call what (besides the open health, metrics and docs): stored events, listener state,
dead letters, lag, the cluster and the console's pages need a read token; everything else —
listener control, seeks, replays, and any route not named here — the admin token."""


def create_app(
    settings: KafkaSettings | None = None,
    events: EventsTopicSettings | None = None,
    registry: ListenerRegistry | None = None,
    *,
    retry: ListenerRetrySettings | None = None,
    lag: LagSettings | None = None,
    store_settings: EventStoreSettings | None = None,
    event_log: EventLogSettings | None = None,
    gc_settings: GcSettings | None = None,
    service: ServiceSettings | None = None,
    metrics_registry: CollectorRegistry | None = None,
    tokens: ApiTokens | None = None,
    event_stats: EventStatsSettings | None = None,
    streams: StreamsSettings | None = None,
    connect: ConnectSettings | None = None,
) -> FastAPI:
    """Build the app; containers start in the lifespan and stop (committing) when it ends.

    ``registry`` holds the listeners to run; by default a new one with the example listener
    (``event_log``: stores every event of ``events.topic``, group ``event_log.group_id``).
    Every listener retries with exponential back-off, then dead-letters to ``<topic>-dlt``.
    Lag is watched, Burrow-style, on every cluster of ``LAG_CLUSTERS``. Metrics go to
    ``metrics_registry`` (prometheus-client's global registry by default). With
    ``event_stats.enabled``, the example stream topology runs too (application ``streams``).
    """
    settings = settings or KafkaSettings()
    events = events or EventsTopicSettings()
    order_changes = OrderChanges()
    if registry is None:
        registry = ListenerRegistry()
        log_settings = event_log or EventLogSettings()
        register_event_log(
            registry,
            topic=events.topic,
            group_id=log_settings.group_id,
            concurrency=log_settings.concurrency,
        )
        register_order_changes(registry, OrderChangesSettings(), order_changes)
    retry = retry or ListenerRetrySettings()
    monitors = LagMonitors(settings, lag or LagSettings())
    stats_settings = event_stats or EventStatsSettings()
    streams_apps: list[StreamsApplication] = []

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with tuned_garbage_collector(gc_settings):
            yield

    app = FastAPI(
        title="Event consumer",
        description="Runs the @kafka_listener containers; their state, dead letters, lag.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    kafka = _kafka_app(settings, events, registry, retry, metrics_registry)
    _open_with_the_listeners(kafka, app.state, settings, store_settings, monitors)
    if stats_settings.enabled:
        _run_the_stream_application(
            kafka,
            app.state,
            settings=settings,
            events=events,
            stats_settings=stats_settings,
            streams=streams,
        )
    include_listeners(app, kafka)
    service_basics(app)
    app.state.service = service or ServiceSettings()
    app.state.kafka_settings = settings
    app.state.registry = kafka.registry
    app.state.recent_events = RecentEvents()
    app.state.order_changes = order_changes
    app.state.lag_monitors = monitors
    app.state.event_stats = None
    stored = store_settings or EventStoreSettings()
    app.state.stored_in = describe_store(stored.url)
    app.state.streams_apps = streams_apps
    app.state.metrics_registries = _metrics_registries(metrics_registry, monitors, streams_apps)
    app.add_exception_handler(BurrowNotFound, not_found)  # type: ignore[arg-type]
    _wire_access(app, tokens or ApiTokens())
    for routes in (router, dlt_router, cluster_router, burrow_router, streams_router):
        app.include_router(routes)
    _wire_connect(app, connect or ConnectSettings())
    return app


def _kafka_app(
    settings: KafkaSettings,
    events: EventsTopicSettings,
    registry: ListenerRegistry,
    retry: ListenerRetrySettings,
    metrics_registry: CollectorRegistry | None,
) -> KafkaApp:
    """The listeners, their template and topics; every listener retries with back-off, then
    dead-letters."""
    kafka = KafkaApp(
        settings,
        topics=events.declarations(),
        registry=registry,
        metrics_registry=metrics_registry,
    )
    kafka.error_handler = DefaultErrorHandler(
        DeadLetterPublishingRecoverer(kafka.template),
        ExponentialBackOff(
            retry.initial_s, retry.multiplier, retry.max_s, max_retries=retry.attempts - 1
        ),
    )
    return kafka


def _open_with_the_listeners(
    kafka: KafkaApp,
    state: State,
    settings: KafkaSettings,
    stored_in: EventStoreSettings | None,
    monitors: LagMonitors,
) -> None:
    """The store, the dead-letter reader and the lag monitors: opened before the listeners
    start, closed after they stopped (put on the web app's ``state``)."""
    opened = contextlib.AsyncExitStack()
    stored = stored_in or EventStoreSettings()

    @kafka.on_startup
    async def open_what_the_listeners_use() -> None:
        state.dead_letters = DeadLetterReplayer(settings, kafka.template)
        store = state.event_store = await _open_store(opened, stored)
        kafka.dependencies.update({EventStore: store, RecentEvents: state.recent_events})
        # In the background: a watched cluster that is down never holds up the start.
        await monitors.start()
        opened.push_async_callback(monitors.stop)

    @kafka.after_shutdown
    async def close_them() -> None:
        await opened.aclose()


def _run_the_stream_application(
    kafka: KafkaApp,
    state: State,
    *,
    settings: KafkaSettings,
    events: EventsTopicSettings,
    stats_settings: EventStatsSettings,
    streams: StreamsSettings | None,
) -> None:
    """The example topology: started once the listeners run, stopped before they stop."""

    @kafka.after_startup
    async def start_the_stream_application() -> None:
        stats = await _start_event_stats(settings, events, stats_settings, streams)
        state.event_stats = stats
        state.streams_apps.append(stats.streams)

    @kafka.on_shutdown
    async def stop_the_stream_application() -> None:
        stats, state.event_stats = state.event_stats, None
        if stats is not None:
            state.streams_apps.remove(stats.streams)
            await stats.streams.stop()


async def _open_store(
    opened: contextlib.AsyncExitStack, settings: EventStoreSettings
) -> EventStore:
    store = event_store_for(settings.url)
    await store.open()
    opened.push_async_callback(store.close)
    if settings.retention_s is not None:
        retention = asyncio.create_task(keep_for(store, settings.retention_s))
        opened.push_async_callback(cancel_and_wait, retention)
    return store


def _wire_access(app: FastAPI, tokens: ApiTokens) -> None:
    # The console's pages take the token from the cookie its login form sets.
    app.state.api_tokens = tokens
    session = SessionCookie()
    install_access(app, tokens, ACCESS, session)
    install_console(app, console_sources, session=session, settings=ConsoleSettings())


def console_sources(request: Request) -> ConsoleSources:
    """What the console shows, from the running app's state."""
    state = request.app.state
    return ConsoleSources(
        kafka=state.kafka_settings,
        registry=state.registry,
        monitors=state.lag_monitors,
        tokens=state.api_tokens,
        dead_letters=getattr(state, "dead_letters", None),
        connect=state.connect,
        streams=state.streams_apps,
        recent_events=state.recent_events.latest,
        stored_in=state.stored_in,
    )


def _metrics_registries(
    registry: CollectorRegistry | None,
    monitors: LagMonitors,
    streams_apps: list[StreamsApplication],
) -> tuple[CollectorRegistry, CollectorRegistry]:
    # The second one holds what is read at scrape time: lag, and the stream applications (the
    # list the lifespan fills).
    scraped = CollectorRegistry()
    scraped.register(LagCollector(monitors))
    scraped.register(StreamsCollector(streams_apps))
    return registry or REGISTRY, scraped


async def _start_event_stats(
    kafka: KafkaSettings,
    events: EventsTopicSettings,
    settings: EventStatsSettings,
    streams: StreamsSettings | None,
) -> EventStats:
    # Declared once the events topic exists: the engine sizes the changelog and repartition
    # topics like the topic they come from.
    streams_settings = streams or EventStatsStreamsSettings()
    stats = build_event_stats(StreamsApplication(streams_settings, kafka), events, settings)
    await stats.streams.start()
    return stats


def _wire_connect(app: FastAPI, settings: ConnectSettings) -> None:
    # The client's connections are opened on first use; the lifespan does not own them.
    app.state.connect = (
        None if settings.url is None else ConnectClient(settings.url, timeout_s=settings.timeout_s)
    )
    app.add_exception_handler(ConnectError, connect_error_answer)
    for error in UNREACHABLE:
        app.add_exception_handler(error, connect_unreachable_answer)
    app.include_router(connect_router)
