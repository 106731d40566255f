"""What a container reports about itself: state, problem, partitions with offsets and lag."""

from __future__ import annotations

import contextlib

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from kafka_kit._internal.cancellation import within
from kafka_kit.status import ContainerMetrics, ContainerStatus, PartitionStatus

__all__ = ["container_status"]


async def container_status(
    consumer: AIOKafkaConsumer | None,
    *,
    client_id: str,
    group_id: str | None,
    state: str,
    error: str | None,
    metrics: ContainerMetrics,
    timeout_s: float,
) -> ContainerStatus:
    """A container's state and, per assigned partition, position, committed, end and lag.

    Its consumer (``None`` while it has none) is asked for positions and offsets, each within
    ``timeout_s``; the other parameters are the container's own, shown as they are.

    Args:
        consumer: The container's consumer (``None``: not running).
        client_id: Its client id.
        group_id: Its group.
        state: The container's state.
        error: Why it failed, if it did.
        metrics: Its counters.
        timeout_s: Bounds the offset lookups.
    """
    partitions: list[PartitionStatus] = []
    if consumer is not None:
        tps = sorted(consumer.assignment())
        paused = consumer.paused()
        ends: dict[TopicPartition, int] = {}
        with contextlib.suppress(Exception):
            ends = await within(consumer.end_offsets(tps), timeout_s)
        for tp in tps:
            position = committed = None
            with contextlib.suppress(Exception):
                position = await within(consumer.position(tp), 2.0)
            if group_id is not None:
                with contextlib.suppress(Exception):
                    committed = await within(consumer.committed(tp), 2.0)
            end = ends.get(tp)
            lag = end - position if end is not None and position is not None else None
            partitions.append(
                PartitionStatus(
                    topic=tp.topic,
                    partition=tp.partition,
                    position=position,
                    committed=committed,
                    end_offset=end,
                    lag=lag,
                    paused=tp in paused,
                )
            )
    lags = [p.lag for p in partitions if p.lag is not None]
    return ContainerStatus(
        client_id=client_id,
        state=state,
        error=error,
        partitions=partitions,
        records_lag_max=max(lags) if lags else None,
        metrics=metrics.model_copy(),
    )
