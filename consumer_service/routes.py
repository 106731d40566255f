"""The consumer's HTTP routes: health, the listener registry, the example listener's log."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, status
from fastapi.responses import JSONResponse

from consumer_service.event_store import EventStore, StoredEvent
from consumer_service.listeners import RecentEvents
from consumer_service.parameters import EventId, EventType, Limit, ListenerId
from consumer_service.state import State
from kafka_kit import ListenerRegistry
from kafka_kit.errors import ShareGroupError, UnknownListenerError
from kafka_kit.seek import SeekRequest
from kafka_kit.status import ListenerStatus
from kafka_kit.streams import StreamsState
from kafka_kit.web.strict_json import StrictJsonRoute

router = APIRouter(route_class=StrictJsonRoute)
log = logging.getLogger(__name__)


async def get_registry(state: State) -> ListenerRegistry:
    """The registry whose containers this app runs."""
    return state.registry


Registry = Annotated[ListenerRegistry, Depends(get_registry)]

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No listener with that id."}}


async def _status_of(registry: ListenerRegistry, listener_id: str) -> ListenerStatus:
    try:
        return await registry.container(listener_id).status()
    except UnknownListenerError as exc:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, detail=f"no listener {listener_id!r}"
        ) from exc


def _known(registry: ListenerRegistry, listener_id: str) -> None:
    try:
        registry.container(listener_id)
    except UnknownListenerError as exc:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, detail=f"no listener {listener_id!r}"
        ) from exc


@router.get("/health", tags=["health"])
async def health(registry: Registry, state: State) -> JSONResponse:
    """``UP`` (200) when every listener that should run does and the stream application (if
    any) runs; ``RESTARTING`` (503) while only the stream application waits for its restart;
    else ``DOWN`` (503) with which.

    ``lag_clusters`` tells how watching each cluster goes (``running``, or ``unreachable: why``).

    With ``SERVICE_INSTANCE_ID`` set, the answer names it as ``instance``.
    """
    service, monitors = state.service, state.lag_monitors
    # Watched clusters are shown, not judged: one that is down must not take this service out.
    clusters = monitors.states()
    details: dict[str, object] = {"lag_clusters": clusters}
    stats = state.event_stats
    streams_state = None
    if stats is not None:
        details["streams"] = stats.streams.health()
        streams_state = stats.streams.state
    unhealthy = registry.unhealthy()
    if unhealthy or (streams_state is not None and not streams_state.healthy):
        # Said as it is: a stream application on its way back is not one that is down.
        restarting = not unhealthy and streams_state is StreamsState.RESTARTING
        word = "RESTARTING" if restarting else "DOWN"
        body = service.health(word, **({"listeners": unhealthy} if unhealthy else {}), **details)
        return JSONResponse(body, status_code=503)
    return JSONResponse(service.health("UP", **details))


@router.get("/listeners", tags=["listeners"])
async def list_listeners(registry: Registry) -> list[ListenerStatus]:
    """Every listener: state, assigned partitions, positions, committed offsets, lag."""
    return await registry.statuses()


@router.get("/listeners/{listener_id}", tags=["listeners"], responses=NOT_FOUND)
async def get_listener(listener_id: ListenerId, registry: Registry) -> ListenerStatus:
    """One listener's state, partitions, offsets and lag."""
    return await _status_of(registry, listener_id)


@router.post("/listeners/{listener_id}/pause", tags=["listeners"], responses=NOT_FOUND)
async def pause_listener(listener_id: ListenerId, registry: Registry) -> ListenerStatus:
    """Stop fetching; the consumers keep polling and stay in their group."""
    _known(registry, listener_id)
    registry.pause(listener_id)
    return await _status_of(registry, listener_id)


@router.post("/listeners/{listener_id}/resume", tags=["listeners"], responses=NOT_FOUND)
async def resume_listener(listener_id: ListenerId, registry: Registry) -> ListenerStatus:
    """Fetch again."""
    _known(registry, listener_id)
    registry.resume(listener_id)
    return await _status_of(registry, listener_id)


@router.post("/listeners/{listener_id}/start", tags=["listeners"], responses=NOT_FOUND)
async def start_listener(listener_id: ListenerId, registry: Registry) -> ListenerStatus:
    """Start a stopped listener."""
    _known(registry, listener_id)
    await registry.start_listener(listener_id)
    return await _status_of(registry, listener_id)


@router.post("/listeners/{listener_id}/stop", tags=["listeners"], responses=NOT_FOUND)
async def stop_listener(listener_id: ListenerId, registry: Registry) -> ListenerStatus:
    """Stop a listener: its current batch finishes and is committed."""
    _known(registry, listener_id)
    await registry.stop_listener(listener_id)
    return await _status_of(registry, listener_id)


@router.post(
    "/listeners/{listener_id}/seek",
    tags=["listeners"],
    status_code=status.HTTP_202_ACCEPTED,
    responses={**NOT_FOUND, 409: {"description": "A share-group listener: nothing to seek."}},
)
async def seek_listener(
    listener_id: ListenerId, request: SeekRequest, registry: Registry
) -> dict[str, str]:
    """Move the listener to the beginning, the end, an offset or a timestamp (replay).

    Applied by each consumer before its next poll, to the partitions it owns.
    """
    _known(registry, listener_id)
    # Answered at once (202); how it went is logged when the poll loops applied it.
    try:
        registry.seek(listener_id, request).add_done_callback(_log_seek_failure)
    except ShareGroupError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from exc
    return {"status": "accepted"}


def _log_seek_failure(applied: asyncio.Future[list[None]]) -> None:
    if not applied.cancelled() and (failure := applied.exception()) is not None:
        log.warning("a seek was not applied: %r", failure)


async def get_recent_events(state: State) -> RecentEvents:
    """What the example listener handled lately."""
    return state.recent_events


@router.get("/events/recent", tags=["events"])
async def recent(
    events: Annotated[RecentEvents, Depends(get_recent_events)],
    limit: Annotated[
        int, Query(ge=1, le=100, description="At most this many.", examples=[20])
    ] = 20,
) -> list[dict[str, Any]]:
    """The latest events the example listener handled in this process, newest last."""
    return events.latest(limit)


async def get_store(state: State) -> EventStore:
    """The app's event store."""
    return state.opened_store()


Store = Annotated[EventStore, Depends(get_store)]


@router.get("/events/stats", tags=["events"])
async def store_stats(store: Store) -> dict[str, int]:
    """Events stored, and since this process started: inserts, redeliveries ignored, and the
    transactions they took (a poll's events are stored in one)."""
    return {
        "stored": await store.count(),
        "inserted": store.inserted,
        "duplicates_ignored": store.duplicates,
        "transactions": store.transactions,
    }


@router.get("/events/{event_id}", tags=["events"], responses={404: {"description": "Not stored."}})
async def stored_event(event_id: EventId, store: Store) -> StoredEvent:
    """One stored event, with the partition and offset it was read from and the trace it was
    sent in (``trace_id``, when the producer traced it)."""
    found = await store.get(event_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no event {event_id}")
    return found


@router.get("/events", tags=["events"])
async def stored_events(
    store: Store,
    type: EventType = None,
    limit: Limit = 100,
) -> list[StoredEvent]:
    """Stored events, newest first, optionally of one ``type``."""
    return await store.query(type=type, limit=limit)


@router.get("/orders/changes", tags=["events"])
async def order_changes(state: State) -> list[dict[str, Any]]:
    """The latest order-row changes the CDC listener read (``ORDER_CHANGES_TOPIC``), newest last."""
    return list(state.order_changes.changes)


@router.get("/work", tags=["events"])
async def work_done(state: State) -> dict[str, Any]:
    """What the share-group work queue did here (``WORK_QUEUE_ENABLED``): counts, latest."""
    return state.work_done.view()
