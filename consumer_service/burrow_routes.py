"""Burrow's v3 API over the lag monitors: ``/v3/kafka/...`` with Burrow's JSON field names."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from consumer_service.parameters import ClusterName, GroupId, TopicName
from consumer_service.state import State
from kafka_kit.lag import ClusterLagMonitor, GroupStatus, LagMonitors, Status
from kafka_kit.web import burrow_json
from kafka_kit.web.strict_json import StrictJsonRoute

router = APIRouter(
    route_class=StrictJsonRoute,
    prefix="/v3/kafka",
    tags=["lag (Burrow v3)"],
    responses={
        404: {
            "description": "Unknown cluster, topic or group, in Burrow's words (an unknown "
            "group's `/status` and `/lag` answer a NOTFOUND status with `error: false`)."
        }
    },
)


async def get_monitors(state: State) -> LagMonitors:
    """The app's lag monitors, one per watched cluster."""
    return state.lag_monitors


Monitors = Annotated[LagMonitors, Depends(get_monitors)]


class BurrowNotFound(Exception):
    """Answered as Burrow does: 404 with ``"error": true``."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


async def not_found(request: Request, exc: BurrowNotFound) -> JSONResponse:
    """The exception handler the app registers for :class:`BurrowNotFound`."""
    return JSONResponse(burrow_json.error(request.url.path, exc.message), status_code=404)


def _cluster(monitors: LagMonitors, cluster: str) -> ClusterLagMonitor:
    monitor = monitors.get(cluster)
    if monitor is None:
        raise BurrowNotFound("cluster not found")
    return monitor


@router.get("")
async def clusters(request: Request, monitors: Monitors) -> dict[str, Any]:
    """The watched clusters."""
    return burrow_json.answer(
        request.url.path, "cluster list returned", clusters=sorted(monitors.monitors)
    )


@router.get("/{cluster}")
async def cluster_detail(
    cluster: ClusterName, request: Request, monitors: Monitors
) -> dict[str, Any]:
    """How a cluster is watched, and whether it answers (``state``, ``last-error``)."""
    monitor = monitors.get(cluster)
    if monitor is None:
        raise BurrowNotFound("cluster module not found")
    module = burrow_json.cluster_module_json(monitor)
    return burrow_json.answer(request.url.path, "cluster module detail returned", module=module)


@router.get("/{cluster}/topic")
async def topics(cluster: ClusterName, request: Request, monitors: Monitors) -> dict[str, Any]:
    """The cluster's topics, internal ones included."""
    names = _cluster(monitors, cluster).topics()
    return burrow_json.answer(request.url.path, "topic list returned", topics=names)


@router.get("/{cluster}/topic/{topic}")
async def topic_detail(
    cluster: ClusterName, topic: TopicName, request: Request, monitors: Monitors
) -> dict[str, Any]:
    """The latest log-end offset sample of each partition of a topic."""
    monitor = monitors.get(cluster)
    offsets = monitor.topic_offsets(topic) if monitor is not None else None
    if offsets is None:
        raise BurrowNotFound("cluster or topic not found")
    return burrow_json.answer(request.url.path, "topic offsets returned", offsets=offsets)


@router.get("/{cluster}/topic/{topic}/consumers")
async def topic_consumers(
    cluster: ClusterName, topic: TopicName, request: Request, monitors: Monitors
) -> dict[str, Any]:
    """Groups that have the topic."""
    groups = _cluster(monitors, cluster).consumers_of(topic)
    return burrow_json.answer(request.url.path, "consumers of topic returned", consumers=groups)


@router.get("/{cluster}/consumer")
async def consumers(cluster: ClusterName, request: Request, monitors: Monitors) -> dict[str, Any]:
    """Consumer groups with commits or members."""
    groups = _cluster(monitors, cluster).groups()
    return burrow_json.answer(request.url.path, "consumer list returned", consumers=groups)


@router.get("/{cluster}/consumer/{group}")
async def consumer_detail(
    cluster: ClusterName, group: GroupId, request: Request, monitors: Monitors
) -> dict[str, Any]:
    """A group's window of commits per partition."""
    monitor = monitors.get(cluster)
    if monitor is None or not monitor.known(group):
        raise BurrowNotFound("cluster or consumer not found")
    detail = burrow_json.consumer_detail_json(monitor, group)
    return burrow_json.answer(request.url.path, "consumer detail returned", topics=detail)


def _status(request: Request, monitors: LagMonitors, cluster: str, group: str, *, every: bool
            ) -> JSONResponse:  # fmt: skip
    monitor = monitors.get(cluster)
    status = monitor.status(group) if monitor else GroupStatus.not_found(cluster, group)
    body = burrow_json.answer(
        request.url.path,
        "consumer status returned",
        status=burrow_json.group_json(status, all_partitions=every),
    )
    # Burrow: an unknown group (or cluster) is a 404 whose body is a status, not an error.
    return JSONResponse(body, status_code=404 if status.status is Status.NOTFOUND else 200)


@router.get("/{cluster}/consumer/{group}/status")
async def consumer_status(
    cluster: ClusterName, group: GroupId, request: Request, monitors: Monitors
) -> JSONResponse:
    """The group's status; only partitions that are not OK are listed."""
    return _status(request, monitors, cluster, group, every=False)


@router.get("/{cluster}/consumer/{group}/lag")
async def consumer_lag(
    cluster: ClusterName, group: GroupId, request: Request, monitors: Monitors
) -> JSONResponse:
    """The group's status with every partition."""
    return _status(request, monitors, cluster, group, every=True)
