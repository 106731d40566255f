"""Kafka Connect over HTTP: view connectors, their tasks and offsets; create, change, control."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query, status
from pydantic import BaseModel, ConfigDict

from consumer_service.state import State
from kafka_kit.connect import ConnectClient, ConnectorInfo, ConnectorStatus
from kafka_kit.web.strict_json import StrictJsonRoute

router = APIRouter(route_class=StrictJsonRoute, prefix="/connect", tags=["connect"])

ANSWERS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such connector, or no Connect configured (`CONNECT_URL`)."},
    422: {"description": "The config did not validate: each setting with Connect's messages."},
    400: {"description": "Connect refused the request (e.g. offsets of a running connector)."},
    502: {"description": "Connect failed, with its message."},
    503: {"description": "Connect rebalances or does not answer: try again (Retry-After)."},
}

ConnectorName = Annotated[
    str,
    Path(
        min_length=1,
        max_length=249,
        pattern=r"^[a-zA-Z0-9._-]+$",
        description="A connector's name.",
        examples=["orders-cdc"],
    ),
]


async def get_connect(state: State) -> ConnectClient:
    """The app's Connect client; 404 when the service has no ``CONNECT_URL``."""
    client = state.connect
    if client is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no Kafka Connect configured (CONNECT_URL)")
    return client


Connect = Annotated[ConnectClient, Depends(get_connect)]


@router.get("/connectors", responses=ANSWERS)
async def connectors(connect: Connect) -> list[ConnectorStatus]:
    """Every connector with its state and its tasks' (which worker runs each)."""
    return [await connect.status(name) for name in await connect.connectors()]


@router.get("/connectors/{name}", responses=ANSWERS)
async def connector(name: ConnectorName, connect: Connect) -> dict[str, Any]:
    """A connector's config, tasks and status."""
    info, state = await connect.info(name), await connect.status(name)
    return {**info.model_dump(), "status": state.model_dump()}


@router.put("/connectors/{name}", responses=ANSWERS)
async def put_connector(
    name: ConnectorName,
    connect: Connect,
    config: Annotated[
        dict[str, str],
        Body(
            examples=[
                {
                    "connector.class": "org.apache.kafka.connect.file.FileStreamSinkConnector",
                    "topics": "events",
                    "file": "/tmp/events.jsonl",
                }
            ]
        ),
    ],
) -> ConnectorInfo:
    """Create the connector or replace its config; Connect validates it first (422 if not)."""
    return await connect.put(name, config)


@router.get("/connectors/{name}/offsets", responses=ANSWERS)
async def offsets(name: ConnectorName, connect: Connect) -> list[dict[str, Any]]:
    """The connector's committed offsets."""
    return await connect.offsets(name)


class OffsetsChange(BaseModel):
    """New offsets, as Connect takes them: each source partition and its offset."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "offsets": [
                        {"partition": {"filename": "/tmp/lines.txt"}, "offset": {"position": 0}}
                    ]
                }
            ]
        },
    )

    offsets: list[dict[str, Any]]


@router.patch("/connectors/{name}/offsets", responses=ANSWERS)
async def alter_offsets(
    name: ConnectorName, connect: Connect, change: OffsetsChange
) -> dict[str, str]:
    """Set a STOPPED connector's offsets (Connect refuses otherwise)."""
    return {"message": await connect.alter_offsets(name, change.offsets)}


@router.delete("/connectors/{name}/offsets", responses=ANSWERS)
async def reset_offsets(name: ConnectorName, connect: Connect) -> dict[str, str]:
    """Forget a STOPPED connector's offsets: resumed, it starts from the beginning."""
    return {"message": await connect.reset_offsets(name)}


@router.post("/connectors/{name}/pause", responses=ANSWERS)
async def pause(name: ConnectorName, connect: Connect) -> ConnectorStatus:
    """Pause the connector and its tasks."""
    await connect.pause(name)
    return await connect.status(name)


@router.post("/connectors/{name}/resume", responses=ANSWERS)
async def resume(name: ConnectorName, connect: Connect) -> ConnectorStatus:
    """Resume a paused or stopped connector."""
    await connect.resume(name)
    return await connect.status(name)


@router.post("/connectors/{name}/stop", responses=ANSWERS)
async def stop(name: ConnectorName, connect: Connect) -> ConnectorStatus:
    """Stop the connector and shut its tasks down."""
    await connect.stop(name)
    return await connect.status(name)


@router.post("/connectors/{name}/restart", responses=ANSWERS)
async def restart(
    name: ConnectorName,
    connect: Connect,
    include_tasks: Annotated[
        bool, Query(description="restart its tasks too", examples=[True])
    ] = False,
    only_failed: Annotated[bool, Query(description="only what FAILED", examples=[True])] = False,
) -> ConnectorStatus:
    """Restart the connector (and its tasks)."""
    await connect.restart(name, include_tasks=include_tasks, only_failed=only_failed)
    return await connect.status(name)


@router.post("/connectors/{name}/tasks/{task}/restart", responses=ANSWERS)
async def restart_task(
    name: ConnectorName,
    task: Annotated[int, Path(ge=0, description="The task's number.", examples=[0])],
    connect: Connect,
) -> ConnectorStatus:
    """Restart one task."""
    await connect.restart_task(name, task)
    return await connect.status(name)


@router.delete("/connectors/{name}", responses=ANSWERS, status_code=204)
async def delete(name: ConnectorName, connect: Connect) -> None:
    """Delete the connector."""
    await connect.delete(name)
