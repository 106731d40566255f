"""The producer's HTTP routes."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel

from shared.events import EventDto
from shared.settings import EventsTopicSettings
from shared.template import KafkaSendError, KafkaTemplate

router = APIRouter()

RETRY_AFTER_S = 5


def get_template(request: Request) -> KafkaTemplate:
    """The application's template (started in the lifespan)."""
    template: KafkaTemplate = request.app.state.template
    return template


def get_events_settings(request: Request) -> EventsTopicSettings:
    """Where events go by default."""
    events: EventsTopicSettings = request.app.state.events
    return events


Template = Annotated[KafkaTemplate, Depends(get_template)]
EventsSettings = Annotated[EventsTopicSettings, Depends(get_events_settings)]


class EventAccepted(BaseModel):
    """Where Kafka stored an accepted event."""

    id: UUID
    topic: str
    partition: int
    offset: int


@router.post(
    "/events",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=EventAccepted,
    responses={503: {"description": "Kafka did not acknowledge the write; retry later."}},
)
async def post_event(event: EventDto, template: Template, events: EventsSettings) -> EventAccepted:
    """Validate an event and write it to Kafka; answer with its partition and offset."""
    try:
        sent = await template.send(events.topic, event, key=event.key)
    except KafkaSendError as exc:
        raise HTTPException(
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            detail=f"Kafka did not acknowledge the event: {exc}",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        ) from exc
    return EventAccepted(
        id=event.id, topic=sent.topic, partition=sent.partition, offset=sent.offset
    )


@router.get("/health")
async def health(template: Template) -> dict[str, str]:
    """``UP`` while the template's producer is connected."""
    if not template.is_running:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail="producer not started")
    return {"status": "UP"}
