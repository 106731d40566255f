"""The producer service's FastAPI application: lifespan and wiring."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from prometheus_client import REGISTRY, CollectorRegistry

from event_contract.events import EventDto, EventsTopicSettings
from kafka_kit import KafkaApp, KafkaSendError, KafkaSettings, KafkaTemplate
from kafka_kit.outbox import Outbox
from kafka_kit.tracing import TracingSettings
from kafka_kit.tracing.service import tracing_for
from kafka_kit.web.auth import ApiTokens, install_access, rules
from kafka_kit.web.fast_post import FastJsonPost
from kafka_kit.web.gc_tuning import GcSettings
from kafka_kit.web.limits import BodySizeLimitMiddleware
from kafka_kit.web.send_failures import answer_for_send_failure
from kafka_kit.web.service import ServiceSettings, service_app
from kafka_kit.web.topic_policy import TopicPolicy
from producer_service.routes import fast_post_event, read_router, write_router
from producer_service.settings import ProducerApiSettings
from producer_service.state import ProducerState

SETTINGS = (
    KafkaSettings,
    EventsTopicSettings,
    ProducerApiSettings,
    ApiTokens,
    GcSettings,
    ServiceSettings,
    TracingSettings,
)
"""Every settings class the service reads from the environment."""


ACCESS = rules(
    (r"/outbox", "read", ["GET"]),
    (r"/events(/batch)?", "write", ["POST"]),
)
"""Who may call what (besides the open health, metrics and docs): posting events is the service's
business (open without tokens; the admin token's with them); every route not named here is an
admin route (closed without a token)."""


def create_app(
    settings: KafkaSettings | None = None,
    events: EventsTopicSettings | None = None,
    api: ProducerApiSettings | None = None,
    *,
    template: KafkaTemplate | None = None,
    gc_settings: GcSettings | None = None,
    service: ServiceSettings | None = None,
    metrics_registry: CollectorRegistry | None = None,
    tokens: ApiTokens | None = None,
    tracing: TracingSettings | None = None,
) -> FastAPI:
    """Build the app; the template connects in the lifespan, not at import.

    Its metrics go to ``metrics_registry`` (prometheus-client's global registry by default).
    """
    settings = settings or KafkaSettings()
    events = events or EventsTopicSettings()
    api = api or ProducerApiSettings()
    traced = tracing_for("producer-service", tracing)
    kafka = KafkaApp(
        settings,
        topics=events.declarations(),
        template=template,
        metrics_registry=metrics_registry,
        tracing=traced.kafka if traced else None,
    )
    # What POST /events writes, for the AsyncAPI document (/asyncapi.json).
    kafka.publisher(events.topic, EventDto, summary="every event POSTed to /events, keyed by `key`")
    for topic in api.allowed_topics:
        kafka.publisher(topic, EventDto, summary=f"events POSTed with ?topic={topic}")

    state = ProducerState(
        template=kafka.template,
        api=api,
        service=service or ServiceSettings(),
        topic_policy=TopicPolicy(events.topic, api.allowed_topics),
        metrics_registry=metrics_registry or REGISTRY,
    )
    if api.delivery_mode == "outbox":

        @kafka.on_startup
        async def relay_the_outbox() -> None:
            state.outbox = Outbox(api.outbox_path, kafka.template)
            await state.outbox.start()

        @kafka.after_shutdown
        async def stop_the_relay() -> None:
            outbox, state.outbox = state.outbox, None
            if outbox is not None:
                await outbox.stop()

    app = service_app(
        kafka,
        state,
        title="Event producer",
        description="POST events; each is written to Kafka and answered with partition and offset.",
        gc=gc_settings,
        tracing=traced,
    )
    # Innermost: inside the token and size guards, in front of FastAPI's routing.
    app.add_middleware(FastJsonPost, path="/events", handler=fast_post_event(state))
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=api.max_body_bytes)
    tokens = tokens or ApiTokens()
    if api.auth_token is not None and tokens.admin_token is None:
        tokens = tokens.model_copy(update={"admin_token": api.auth_token})  # the older name
    # Outermost: no body is read for a request without a valid token.
    install_access(app, tokens, ACCESS)

    @app.exception_handler(KafkaSendError)
    async def kafka_send_failed(request: Request, exc: KafkaSendError) -> JSONResponse:
        # Nothing unacknowledged is reported as sent: the client retries after a pause.
        answer = answer_for_send_failure(exc, api.retry_after_s)
        return JSONResponse(
            {"detail": answer.detail}, status_code=answer.status_code, headers=answer.headers
        )

    app.include_router(write_router)
    app.include_router(read_router)
    return app
