"""A listener container's consumer: its configuration, its subscription, where it starts reading."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from kafka_kit._internal.clients import start_bounded, stop_bounded
from kafka_kit.listener.endpoint import ListenerEndpoint, TopicPartitionOffset
from kafka_kit.listener.rebalance import RebalanceBridge
from kafka_kit.settings import KafkaSettings

__all__ = ["Subscription", "compile_pattern", "consumer_config", "open_consumer"]


@dataclass(frozen=True)
class Subscription:
    """What a container consumes: topics, a pattern, or explicitly assigned partitions."""

    topics: tuple[str, ...] = ()
    """Topics to subscribe to, as a group."""
    pattern: str | None = None
    """A regex of topics to subscribe to."""
    partitions: tuple[TopicPartitionOffset, ...] = ()
    """Partitions assigned explicitly, with where to start."""


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Validate a subscription regex early, with a clear error.

    Args:
        pattern: A topic regex.
    """
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"invalid topic pattern {pattern!r}: {exc}") from exc


def consumer_config(
    endpoint: ListenerEndpoint, settings: KafkaSettings, *, client_id: str, group_id: str | None
) -> dict[str, Any]:
    """``KAFKA_CONSUMER_*``, then the listener's own properties; the container commits.

    Args:
        endpoint: The listener's declaration.
        settings: ``KAFKA_CONSUMER_*``.
        client_id: The consumer's client id.
        group_id: Its group (``None``: explicit partitions).
    """
    config = settings.consumer_config(client_id, group_id=group_id, **endpoint.properties)
    if endpoint.transactional:
        config["isolation_level"] = "read_committed"  # never build on aborted input
    return config


async def open_consumer(
    config: dict[str, Any],
    subscription: Subscription,
    rebalances: RebalanceBridge,
    settings: KafkaSettings,
) -> AIOKafkaConsumer:
    """A started consumer, subscribed or assigned, at its initial offsets (every wait bounded).

    Args:
        config: The consumer's arguments.
        subscription: Topics, a pattern, or partitions.
        rebalances: Hears assignments and revocations.
        settings: Bounds the start.
    """
    consumer = AIOKafkaConsumer(**config)
    if subscription.partitions:
        consumer.assign([TopicPartition(p.topic, p.partition) for p in subscription.partitions])
    elif subscription.pattern:
        consumer.subscribe(pattern=subscription.pattern, listener=rebalances)
    else:
        consumer.subscribe(list(subscription.topics), listener=rebalances)
    try:
        await start_bounded(consumer, settings, f"listener {config['client_id']}")
        await _initial_offsets(consumer, subscription)
    except BaseException:
        await stop_bounded(consumer, settings.request_timeout_ms / 1000)
        raise
    return consumer


async def _initial_offsets(consumer: AIOKafkaConsumer, subscription: Subscription) -> None:
    for spec in subscription.partitions:
        tp = TopicPartition(spec.topic, spec.partition)
        if spec.offset == "beginning":
            await consumer.seek_to_beginning(tp)
        elif spec.offset == "end":
            await consumer.seek_to_end(tp)
        elif isinstance(spec.offset, int):
            consumer.seek(tp, spec.offset)
