"""Dead letters over HTTP: list them with their error headers, replay them once."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, status
from pydantic import BaseModel, ConfigDict, Field, model_validator

from consumer_service.parameters import DeadLetterTopic, Limit
from consumer_service.state import State
from kafka_kit.errors import (
    AlreadyReplayedError,
    DeadLetterNotFoundError,
    DeadLetterTopicNotFoundError,
)
from kafka_kit.json_numbers import JsonInt
from kafka_kit.recovery import DeadLetterReplayer, dead_letter_topic
from kafka_kit.web.strict_json import StrictJsonRoute

router = APIRouter(route_class=StrictJsonRoute, prefix="/dlt", tags=["dead letters"])


async def get_replayer(state: State) -> DeadLetterReplayer:
    """The app's dead-letter reader and replayer."""
    return state.replayer()


Replayer = Annotated[DeadLetterReplayer, Depends(get_replayer)]


class DeadLetterRef(BaseModel):
    """One record of the dead-letter topic."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # A JSON boolean or string is no partition or offset (lax mode takes false as 0); 3.0 is 3.
    partition: JsonInt = Field(ge=0)
    offset: JsonInt = Field(ge=0)


class ReplayRequest(BaseModel):
    """Which dead letters to replay: listed ``records``, or ``all`` not replayed yet."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"records": [{"partition": 0, "offset": 3}]}, {"all": True}],
            # Either, not both (what the validator enforces, in the schema too).
            "oneOf": [
                {
                    "properties": {"all": {"const": True}, "records": {"type": "null"}},
                    "required": ["all"],
                },
                {
                    "properties": {
                        "all": {"const": False},
                        "records": {"type": "array", "minItems": 1},
                    },
                    "required": ["records"],
                },
            ],
        },
    )

    records: list[DeadLetterRef] | None = None
    all: bool = Field(default=False, strict=True)

    @model_validator(mode="after")
    def _one_selection(self) -> ReplayRequest:
        if self.all == bool(self.records):
            raise ValueError("give either a non-empty 'records' list or 'all': true")
        return self


@router.get("/{topic}", responses={404: {"description": "No such dead-letter topic."}})
async def list_dead_letters(
    topic: DeadLetterTopic,
    replayer: Replayer,
    limit: Limit = 100,
) -> dict[str, Any]:
    """Dead letters of ``topic`` (or of the ``<topic>-dlt`` named), with why they failed."""
    dlt = dead_letter_topic(topic)
    try:
        letters = await replayer.list_dead_letters(dlt, limit=limit)
    except DeadLetterTopicNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no topic {dlt}") from exc
    return {"topic": dlt, "records": [letter.as_json() for letter in letters]}


@router.post(
    "/{topic}/replay",
    responses={
        404: {"description": "No such dead-letter topic or record."},
        409: {"description": "A selected dead letter was replayed before; nothing was sent."},
    },
)
async def replay_dead_letters(
    topic: DeadLetterTopic, request: ReplayRequest, replayer: Replayer
) -> dict[str, Any]:
    """Republish dead letters to their original topic, marked with ``kafka_dlt-replayed-from``."""
    dlt = dead_letter_topic(topic)
    selection = None if request.all else [(r.partition, r.offset) for r in request.records or []]
    try:
        sent, skipped = await replayer.replay(dlt, selection)
    except DeadLetterTopicNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no topic {dlt}") from exc
    except DeadLetterNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from exc
    except AlreadyReplayedError as exc:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            detail={
                "message": "already replayed; nothing was sent",
                "records": [{"partition": p, "offset": o} for p, o in exc.replayed],
            },
        ) from exc
    return {
        "topic": dlt,
        "replayed": sent,
        "skipped_already_replayed": [{"partition": p, "offset": o} for p, o in skipped],
    }
