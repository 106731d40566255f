"""The consumer service's FastAPI application: the lifespan starts the listener containers."""

from __future__ import annotations

import contextlib

from fastapi import FastAPI, Request
from prometheus_client import REGISTRY, CollectorRegistry

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
from consumer_service.state import ConsumerState
from consumer_service.streams_routes import router as streams_router
from consumer_service.work_queue import WorkDone, WorkQueueSettings, register_work_queue
from event_contract.events import EventsTopicSettings
from kafka_kit import KafkaApp, KafkaSettings, ListenerRegistry
from kafka_kit.connect import ConnectClient, ConnectError, ConnectSettings
from kafka_kit.lag import LagMonitors
from kafka_kit.metrics import LagCollector
from kafka_kit.recovery import (
    DeadLetterPublishingRecoverer,
    DeadLetterReplayer,
    DefaultErrorHandler,
    ExponentialBackOff,
    dead_letter_topic,
)
from kafka_kit.settings import LagSettings
from kafka_kit.streams import StreamsApplication, StreamsCollector, StreamsSettings
from kafka_kit.tracing import TracingSettings
from kafka_kit.tracing.service import ServiceTracing, tracing_for
from kafka_kit.web.auth import ApiTokens, SessionCookie, install_access, rules
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
from kafka_kit.web.console.traces import JaegerQuery
from kafka_kit.web.gc_tuning import GcSettings
from kafka_kit.web.service import ServiceSettings, service_app, state_of

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
    WorkQueueSettings,
    ApiTokens,
    ConsoleSettings,
    GcSettings,
    ServiceSettings,
    TracingSettings,
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
        (r"/work", "read", ["GET"]),
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
    tracing: TracingSettings | None = None,
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
    work_done = WorkDone()
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
        register_work_queue(registry, WorkQueueSettings(), topic=events.topic, done=work_done)
    retry = retry or ListenerRetrySettings()
    monitors = LagMonitors(settings, lag or LagSettings())
    stats_settings = event_stats or EventStatsSettings()
    stored = store_settings or EventStoreSettings()
    tokens = tokens or ApiTokens()
    connect = connect or ConnectSettings()
    traced = tracing_for("consumer-service", tracing)
    kafka = _kafka_app(settings, events, registry, retry, metrics_registry, traced)
    streams_apps: list[StreamsApplication] = []  # filled while they run
    state = ConsumerState(
        kafka_settings=settings,
        registry=kafka.registry,
        service=service or ServiceSettings(),
        lag_monitors=monitors,
        recent_events=RecentEvents(),
        order_changes=order_changes,
        work_done=work_done,
        stored_in=describe_store(stored.url),
        metrics_registries=_metrics_registries(metrics_registry, monitors, streams_apps),
        api_tokens=tokens,
        # The client's connections are opened on first use; the lifespan does not own them.
        connect=None
        if connect.url is None
        else ConnectClient(connect.url, timeout_s=connect.timeout_s),
        streams_apps=streams_apps,
        traces=JaegerQuery(traced.settings.ui_url) if traced and traced.settings.ui_url else None,
    )
    _open_with_the_listeners(kafka, state, settings, stored, monitors)
    if stats_settings.enabled:
        _run_the_stream_application(
            kafka,
            state,
            settings=settings,
            events=events,
            stats_settings=stats_settings,
            streams=streams,
        )
    app = service_app(
        kafka,
        state,
        title="Event consumer",
        description="Runs the @kafka_listener containers; their state, dead letters, lag.",
        gc=gc_settings,
        tracing=traced,
    )
    app.add_exception_handler(BurrowNotFound, not_found)  # type: ignore[arg-type]
    _wire_access(app, tokens)
    for routes in (router, dlt_router, cluster_router, burrow_router, streams_router):
        app.include_router(routes)
    _wire_connect(app)
    return app


def _kafka_app(  # noqa: PLR0917 - a private helper of create_app, called once
    settings: KafkaSettings,
    events: EventsTopicSettings,
    registry: ListenerRegistry,
    retry: ListenerRetrySettings,
    metrics_registry: CollectorRegistry | None,
    traced: ServiceTracing | None,
) -> KafkaApp:
    """The listeners, their template and topics; every listener retries with back-off, then
    dead-letters."""
    kafka = KafkaApp(
        settings,
        topics=events.declarations(),
        registry=registry,
        metrics_registry=metrics_registry,
        tracing=traced.kafka if traced else None,
    )
    kafka.error_handler = DefaultErrorHandler(
        DeadLetterPublishingRecoverer(kafka.template),
        ExponentialBackOff(
            retry.initial_s, retry.multiplier, retry.max_s, max_retries=retry.attempts - 1
        ),
    )
    # The recoverer's sends, for the AsyncAPI document: the record as it came, with headers.
    for topic in dict.fromkeys(t for e in registry.endpoints.values() for t in e.topics):
        kafka.publisher(
            dead_letter_topic(topic),
            bytes,
            summary=f"records of {topic} no listener could handle (kafka_dlt-* headers say why)",
        )
    return kafka


def _open_with_the_listeners(
    kafka: KafkaApp,
    state: ConsumerState,
    settings: KafkaSettings,
    stored: EventStoreSettings,
    monitors: LagMonitors,
) -> None:
    """The store, the dead-letter reader and the lag monitors: opened before the listeners
    start, closed after they stopped (put on the service's ``state``)."""
    opened = contextlib.AsyncExitStack()

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

    retention_s = stored.retention_s
    if retention_s is not None:

        @kafka.background
        async def keep_the_store_small() -> None:
            assert state.event_store is not None  # opened by the on_startup hook
            await keep_for(state.event_store, retention_s)


def _run_the_stream_application(
    kafka: KafkaApp,
    state: ConsumerState,
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
    return store


def _wire_access(app: FastAPI, tokens: ApiTokens) -> None:
    # The console's pages take the token from the cookie its login form sets.
    session = SessionCookie()
    install_access(app, tokens, ACCESS, session)
    install_console(app, console_sources, session=session, settings=ConsoleSettings())


def console_sources(request: Request) -> ConsoleSources:
    """What the console shows, from the running app's state."""
    state = state_of(ConsumerState)(request)
    return ConsoleSources(
        kafka=state.kafka_settings,
        registry=state.registry,
        monitors=state.lag_monitors,
        tokens=state.api_tokens,
        dead_letters=state.dead_letters,
        connect=state.connect,
        streams=state.streams_apps,
        recent_events=state.recent_events.latest,
        stored_in=state.stored_in,
        traces=state.traces,
    )


def _metrics_registries(
    registry: CollectorRegistry | None,
    monitors: LagMonitors,
    streams_apps: list[StreamsApplication],
) -> tuple[CollectorRegistry, ...]:
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


def _wire_connect(app: FastAPI) -> None:
    app.add_exception_handler(ConnectError, connect_error_answer)
    for error in UNREACHABLE:
        app.add_exception_handler(error, connect_unreachable_answer)
    app.include_router(connect_router)
