"""The consumer's HTTP routes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from consumer_service.listeners import recent_events
from shared.registry import ListenerRegistry

router = APIRouter()


def get_registry(request: Request) -> ListenerRegistry:
    """The registry whose containers this app runs."""
    registry: ListenerRegistry = request.app.state.registry
    return registry


Registry = Annotated[ListenerRegistry, Depends(get_registry)]


@router.get("/health")
async def health(registry: Registry) -> JSONResponse:
    """``UP`` (200) when every container runs, else ``DOWN`` (503)."""
    up = registry.healthy()
    return JSONResponse({"status": "UP" if up else "DOWN"}, status_code=200 if up else 503)


@router.get("/events/recent")
async def recent(limit: int = 20) -> list[dict[str, Any]]:
    """The latest events the example listener handled, newest last."""
    return list(recent_events)[-limit:]
