"""The producer service's FastAPI application: lifespan and wiring."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from producer_service.routes import router
from shared.admin import KafkaAdmin, NewTopic
from shared.settings import EventsTopicSettings, KafkaSettings
from shared.template import KafkaTemplate


def create_app(
    settings: KafkaSettings | None = None, events: EventsTopicSettings | None = None
) -> FastAPI:
    """Build the app; the template connects in the lifespan, not at import."""
    settings = settings or KafkaSettings()
    events = events or EventsTopicSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await KafkaAdmin(settings).ensure_topics(
            [NewTopic(events.topic, events.partitions, events.replication_factor)]
        )
        async with KafkaTemplate(settings) as template:
            app.state.template = template
            app.state.events = events
            yield

    app = FastAPI(
        title="Event producer",
        description="POST events; each is written to Kafka and answered with partition and offset.",
        lifespan=lifespan,
    )
    app.include_router(router)
    return app
