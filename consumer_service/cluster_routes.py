"""The cluster as the consumer service sees it: brokers, controller, ISR, groups, lag, metrics."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, status
from fastapi.responses import Response

from consumer_service.parameters import GroupId
from consumer_service.state import State
from kafka_kit import KafkaSettings, metrics
from kafka_kit.cluster_view import ClusterView, describe_cluster_view
from kafka_kit.lag import LagMonitors
from kafka_kit.share import ShareGroupAdmin, ShareGroupDescription
from kafka_kit.web.strict_json import StrictJsonRoute

router = APIRouter(route_class=StrictJsonRoute)


async def get_settings(state: State) -> KafkaSettings:
    """The app's Kafka settings."""
    return state.kafka_settings


async def get_monitors(state: State) -> LagMonitors:
    """The app's lag monitors."""
    return state.lag_monitors


@router.get("/cluster", tags=["cluster"])
async def cluster_view(
    settings: Annotated[KafkaSettings, Depends(get_settings)],
    internal: Annotated[
        bool, Query(description="Include `__consumer_offsets` & co.", examples=[False])
    ] = False,
) -> ClusterView:
    """Brokers, the active KRaft controller and its voters, topics with ISR, consumer groups."""
    return await describe_cluster_view(settings, include_internal=internal)


@router.get("/lag/{group}", tags=["lag"], responses={404: {"description": "Unknown group."}})
async def group_lag(
    group: GroupId,
    monitors: Annotated[LagMonitors, Depends(get_monitors)],
    cluster: Annotated[
        str,
        Query(description="Which watched cluster (a key of `LAG_CLUSTERS`).", examples=["local"]),
    ] = "local",
) -> dict[str, Any]:
    """Per partition: log-end offset, committed offset, lag; totals per topic and group.

    A share group (KIP-932) commits no offsets: its partitions show the start offset (every
    record before it is settled) and the lag Kafka counts for it (records not settled yet).
    """
    monitor = monitors.get(cluster)
    report = monitor.group_lag(group) if monitor is not None else None
    if report is None and monitor is not None:
        share = await ShareGroupAdmin(monitor.settings).describe(group)
        if share.state != "Dead":
            return share_group_lag(cluster, share)
    if report is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no group {group} in {cluster}")
    return {
        "cluster": cluster,
        "group": group,
        "total_lag": report.total_lag,
        "lag_by_topic": report.lag_by_topic,
        "partitions": [p.__dict__ for p in report.partitions],
    }


def share_group_lag(cluster: str, share: ShareGroupDescription) -> dict[str, Any]:
    """A share group's lag in the shape of a consumer group's."""
    by_topic: dict[str, int] = {}
    for p in share.partitions:
        by_topic[p.topic] = by_topic.get(p.topic, 0) + (p.lag or 0)
    return {
        "cluster": cluster,
        "group": share.group_id,
        "kind": "share",
        "total_lag": share.lag,
        "lag_by_topic": by_topic,
        "partitions": [p.model_dump() for p in share.partitions],
    }


@router.get("/metrics", tags=["metrics"], response_class=Response)
async def prometheus(state: State) -> Response:
    """Prometheus text format: listener records and latency, lag per partition, group status."""
    body, content_type = metrics.render(*state.metrics_registries)
    return Response(body, media_type=content_type)
