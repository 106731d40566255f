"""The example topology's state stores over HTTP (Kafka Streams' interactive queries)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Path, Request, status
from fastapi.responses import RedirectResponse

from consumer_service.event_stats import PER_KEY, PER_TYPE, EventStats
from kafka_kit.streams import KeyOwner, StreamsState
from kafka_kit.web.strict_json import StrictJsonRoute

router = APIRouter(route_class=StrictJsonRoute, prefix="/streams", tags=["streams"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "Stream processing is off, or nothing was counted for it."}
}
ELSEWHERE: dict[int | str, dict[str, Any]] = {
    307: {"description": "Another instance owns the key's partition: asked again there."},
    503: {"description": "Partitions are being assigned or restored: try again (Retry-After)."},
}

EventKey = Annotated[
    str, Path(min_length=1, max_length=1024, description="An event key.", examples=["customer-42"])
]
EventType = Annotated[
    str,
    Path(min_length=1, max_length=256, description="An event type.", examples=["order.created"]),
]


async def get_event_stats(request: Request) -> EventStats:
    """The app's example topology; 404 when it does not run (``EVENT_STATS_ENABLED=false``)."""
    stats: EventStats | None = request.app.state.event_stats
    if stats is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "stream processing is off here")
    return stats


Stats = Annotated[EventStats, Depends(get_event_stats)]


@router.get("", responses=NOT_FOUND)
async def topology(stats: Stats) -> dict[str, Any]:
    """The application's state, restore, output topics, and what it did not count."""
    return {
        **stats.streams.health(),
        "output_topics": stats.output_topics,
        "duplicates": stats.duplicates,
        "late": stats.late,
        "dead_lettered": stats.dead_lettered,
    }


@router.get("/keys/{key}", responses={**NOT_FOUND, **ELSEWHERE})
async def key_stats(key: EventKey, stats: Stats, request: Request) -> Any:
    """A key's running count and last-seen time, from the ``per-key`` store that holds it."""
    owner = _owner(stats, PER_KEY, key)
    if not owner.local:
        return _redirect(owner, request, f"/streams/keys/{quote(key, safe='')}")
    value = stats.key_stats(key)
    if value is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no event with key {key!r} was counted")
    return {**value, "source": _source(stats, owner)}


@router.get("/types/{event_type}", responses={**NOT_FOUND, **ELSEWHERE})
async def type_windows(event_type: EventType, stats: Stats, request: Request) -> Any:
    """A type's count in each retained tumbling window, from the ``per-type`` store."""
    owner = _owner(stats, PER_TYPE, event_type)
    if not owner.local:
        return _redirect(owner, request, f"/streams/types/{quote(event_type, safe='')}")
    windows = stats.type_windows(event_type)
    if not windows:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no event of type {event_type!r} counted")
    return {
        "type": event_type,
        "window_s": stats.windows.size_s,
        "grace_s": stats.windows.grace_s,
        "windows": windows,
        "late": stats.late.get(event_type, 0),
        "source": _source(stats, owner),
    }


def _owner(stats: EventStats, table: str, key: str) -> KeyOwner:
    if stats.streams.state is not StreamsState.RUNNING:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"the stream application is {stats.streams.state.value}",
            headers={"Retry-After": "1"},
        )
    try:
        return stats.streams.owner(table, key)
    except KeyError:  # the assignment is not known yet
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "the key's partition has no owner yet",
            headers={"Retry-After": "1"},
        ) from None


def _redirect(owner: KeyOwner, request: Request, path: str) -> RedirectResponse:
    target = f"{owner.url.rstrip('/')}{path}"
    if request.url.query:
        target += f"?{request.url.query}"
    return RedirectResponse(target, status.HTTP_307_TEMPORARY_REDIRECT)


def _source(stats: EventStats, owner: KeyOwner) -> dict[str, Any]:
    app_id = stats.streams.application_id
    return {
        "store": owner.table,
        "changelog_topic": f"{app_id}-{owner.table}-changelog",
        "partition": owner.partition,
        "instance": owner.url,
    }
