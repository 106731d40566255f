"""The consumer service's FastAPI application: the lifespan starts the listener containers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from consumer_service import listeners  # noqa: F401 - importing registers the listeners
from consumer_service.routes import router
from shared.admin import KafkaAdmin, NewTopic
from shared.registry import ListenerRegistry, default_registry
from shared.settings import EventsTopicSettings, KafkaSettings


def create_app(
    settings: KafkaSettings | None = None,
    events: EventsTopicSettings | None = None,
    registry: ListenerRegistry | None = None,
) -> FastAPI:
    """Build the app; containers start in the lifespan and stop (committing) when it ends."""
    settings = settings or KafkaSettings()
    events = events or EventsTopicSettings()
    registry = registry or default_registry

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await KafkaAdmin(settings).ensure_topics(
            [NewTopic(events.topic, events.partitions, events.replication_factor)]
        )
        app.state.registry = registry
        await registry.start(settings)
        try:
            yield
        finally:
            await registry.stop()

    app = FastAPI(
        title="Event consumer",
        description="Runs the @kafka_listener containers and shows their state.",
        lifespan=lifespan,
    )
    app.include_router(router)
    return app
