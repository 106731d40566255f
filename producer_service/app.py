"""The producer service's FastAPI application: lifespan and wiring."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from prometheus_client import REGISTRY, CollectorRegistry

from kafka_kit import KafkaAdmin, KafkaSendError, KafkaSettings, KafkaTemplate
from kafka_kit.outbox import Outbox
from kafka_kit.web.auth import ApiTokens, install_access, rules
from kafka_kit.web.basics import service_basics
from kafka_kit.web.fast_post import FastJsonPost
from kafka_kit.web.gc_tuning import GcSettings, tuned_garbage_collector
from kafka_kit.web.limits import BodySizeLimitMiddleware
from kafka_kit.web.send_failures import answer_for_send_failure
from kafka_kit.web.service import ServiceSettings
from kafka_kit.web.topic_policy import TopicPolicy
from producer_service.events import EventsTopicSettings
from producer_service.routes import fast_post_event, read_router, write_router
from producer_service.settings import ProducerApiSettings

SETTINGS = (
    KafkaSettings,
    EventsTopicSettings,
    ProducerApiSettings,
    ApiTokens,
    GcSettings,
    ServiceSettings,
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
) -> FastAPI:
    """Build the app; the template connects in the lifespan, not at import.

    Its metrics go to ``metrics_registry`` (prometheus-client's global registry by default).
    """
    settings = settings or KafkaSettings()
    events = events or EventsTopicSettings()
    api = api or ProducerApiSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await KafkaAdmin(settings).ensure_topics(events.declarations())
        own = template or KafkaTemplate(settings, metrics_registry=metrics_registry)
        async with own as started, AsyncExitStack() as stack:
            app.state.template = started
            if api.delivery_mode == "outbox":
                outbox = Outbox(api.outbox_path, started)
                await outbox.start()
                stack.push_async_callback(outbox.stop)
                app.state.outbox = outbox
            with tuned_garbage_collector(gc_settings):
                yield

    app = FastAPI(
        title="Event producer",
        description="POST events; each is written to Kafka and answered with partition and offset.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    service_basics(app)
    app.state.api_settings = api
    app.state.service = service or ServiceSettings()
    app.state.metrics_registry = metrics_registry or REGISTRY
    app.state.topic_policy = TopicPolicy(events.topic, api.allowed_topics)
    # Innermost: inside the token and size guards, in front of FastAPI's routing.
    app.add_middleware(FastJsonPost, path="/events", handler=fast_post_event(app))
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
