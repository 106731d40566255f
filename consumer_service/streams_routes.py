"""The example topology's state stores over HTTP (Kafka Streams' interactive queries)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Path, status
from fastapi.responses import RedirectResponse

from consumer_service.event_stats import PER_KEY, PER_TYPE, EventStats
from consumer_service.state import State
from kafka_kit.streams import KeyOwner, StreamsState, grouped_key, key_owner
from kafka_kit.web.strict_json import StrictJsonRoute

router = APIRouter(route_class=StrictJsonRoute, prefix="/streams", tags=["streams"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "Stream processing is off here, or nothing was counted for it."}
}
ELSEWHERE: dict[int | str, dict[str, Any]] = {
    307: {"description": "Another instance owns the key's partition: ask it (Location)."},
    503: {"description": "Partitions are being assigned or restored: try again (Retry-After)."},
}

EventKey = Annotated[
    str, Path(min_length=1, max_length=1024, description="An event key.", examples=["customer-42"])
]
EventType = Annotated[
    str,
    Path(min_length=1, max_length=256, description="An event type.", examples=["order.created"]),
]


async def get_event_stats(state: State) -> EventStats:
    """The app's example topology; 404 when it does not run (``EVENT_STATS_ENABLED=false``)."""
    stats = state.event_stats
    if stats is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "stream processing is off here")
    return stats


Stats = Annotated[EventStats, Depends(get_event_stats)]


@router.get("", responses=NOT_FOUND)
async def topology(stats: Stats) -> dict[str, Any]:
    """The application's state, restarts and last error, restore, output topics, and what it did
    not count: duplicates, late events, and the records its policies dead-lettered or skipped."""
    return {
        **stats.streams.health(),
        "output_topics": stats.output_topics,
        "window_s": stats.settings.window_s,
        "grace_s": stats.settings.grace_s,
        "duplicates": stats.duplicates,
        "late": stats.late,
    }


@router.get("/keys/{key}", responses={**NOT_FOUND, **ELSEWHERE})
async def key_stats(key: EventKey, stats: Stats) -> Any:
    """A key's running count and last-seen time, from the store of the instance that owns it."""
    owner = await _owner(stats, stats.input_topic, key.encode())
    if not owner.local:
        return _redirect(owner, f"/streams/keys/{quote(key, safe='')}")
    value = stats.key_stats(key, owner.partition)
    if value is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no event with key {key!r} was counted")
    return {**value, "source": _source(stats, owner, PER_KEY)}


@router.get("/types/{event_type}", responses={**NOT_FOUND, **ELSEWHERE})
async def type_windows(event_type: EventType, stats: Stats) -> Any:
    """A type's count in each window still open (within grace), from the window store."""
    owner = await _owner(stats, stats.by_type_topic, grouped_key(event_type))
    if not owner.local:
        return _redirect(owner, f"/streams/types/{quote(event_type, safe='')}")
    windows = stats.type_windows(event_type, owner.partition)
    if not windows:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"no open window of type {event_type!r}: closed ones are in "
            f"{stats.output_topics[PER_TYPE]}",
        )
    return {
        "type": event_type,
        "windows": windows,
        "late": stats.late.get(event_type, 0),
        "source": _source(stats, owner, PER_TYPE),
    }


async def _owner(stats: EventStats, topic: str, key: bytes) -> KeyOwner:
    if stats.streams.state is not StreamsState.RUNNING:
        raise _retry_later(f"the stream application is {stats.streams.state.value}")
    owner = await key_owner(stats.streams, topic, key, stats.partitions)
    if owner.url is None:
        raise _retry_later("the key's partition has no owner yet")
    return owner


def _retry_later(reason: str) -> HTTPException:
    return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, reason, headers={"Retry-After": "1"})


def _redirect(owner: KeyOwner, path: str) -> RedirectResponse:
    assert owner.url is not None
    return RedirectResponse(f"{owner.url.rstrip('/')}{path}", status.HTTP_307_TEMPORARY_REDIRECT)


def _source(stats: EventStats, owner: KeyOwner, store: str) -> dict[str, Any]:
    return {
        "store": store,
        "topic": owner.topic,
        "partition": owner.partition,
        "instance": owner.url,
    }
