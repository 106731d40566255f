"""Burrow's v3 API over the lag monitors: ``/v3/kafka/...`` with Burrow's JSON field names."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from consumer_service.parameters import ClusterName, GroupId, TopicName
from kafka_kit import ClusterLagMonitor, LagMonitors
from kafka_kit.web import burrow_json

router = APIRouter(prefix="/v3/kafka", tags=["lag (Burrow v3)"])


async def get_monitors(request: Request) -> LagMonitors:
    """The app's lag monitors, one per watched cluster."""
    monitors: LagMonitors = request.app.state.lag_monitors
    return monitors


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
    """How a cluster is watched."""
    module = burrow_json.cluster_module_json(_cluster(monitors, cluster))
    return burrow_json.answer(request.url.path, "cluster module detail returned", module=module)


@router.get("/{cluster}/topic")
async def topics(cluster: ClusterName, request: Request, monitors: Monitors) -> dict[str, Any]:
    """The cluster's topics."""
    names = _cluster(monitors, cluster).topics()
    return burrow_json.answer(request.url.path, "topic list returned", topics=names)


@router.get("/{cluster}/topic/{topic}")
async def topic_detail(
    cluster: ClusterName, topic: TopicName, request: Request, monitors: Monitors
) -> dict[str, Any]:
    """Log-end offset of each partition of a topic."""
    offsets = await _cluster(monitors, cluster).topic_offsets(topic)
    if offsets is None:
        raise BurrowNotFound("topic not found")
    return burrow_json.answer(request.url.path, "topic offsets returned", offsets=offsets)


@router.get("/{cluster}/consumer")
async def consumers(cluster: ClusterName, request: Request, monitors: Monitors) -> dict[str, Any]:
    """Consumer groups with committed offsets."""
    groups = _cluster(monitors, cluster).groups()
    return burrow_json.answer(request.url.path, "consumer list returned", consumers=groups)


@router.get("/{cluster}/consumer/{group}")
async def consumer_detail(
    cluster: ClusterName, group: GroupId, request: Request, monitors: Monitors
) -> dict[str, Any]:
    """A group's window of commits per partition."""
    monitor = _cluster(monitors, cluster)
    if group not in monitor.groups():
        raise BurrowNotFound("cluster or consumer not found")
    detail = burrow_json.consumer_detail_json(monitor, group)
    return burrow_json.answer(request.url.path, "consumer detail returned", topics=detail)


def _status(monitors: LagMonitors, cluster: str, group: str) -> Any:
    status = _cluster(monitors, cluster).status(group)
    if status is None:
        raise BurrowNotFound("cluster or consumer not found")
    return status


@router.get("/{cluster}/consumer/{group}/status")
async def consumer_status(
    cluster: ClusterName, group: GroupId, request: Request, monitors: Monitors
) -> dict[str, Any]:
    """The group's status; only partitions that are not OK are listed."""
    status = burrow_json.group_json(_status(monitors, cluster, group), all_partitions=False)
    return burrow_json.answer(request.url.path, "consumer status returned", status=status)


@router.get("/{cluster}/consumer/{group}/lag")
async def consumer_lag(
    cluster: ClusterName, group: GroupId, request: Request, monitors: Monitors
) -> dict[str, Any]:
    """The group's status with every partition."""
    status = burrow_json.group_json(_status(monitors, cluster, group), all_partitions=True)
    return burrow_json.answer(request.url.path, "consumer lag returned", status=status)
