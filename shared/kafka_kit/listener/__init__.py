"""Listeners: the endpoints ``@kafka_listener`` declares and the containers that run them.

The decorator itself is :mod:`kafka_kit.decorator`. ``endpoint`` (the declaration),
``arguments`` (what a handler is called with), ``depends`` (FastAPI's ``Depends`` per record),
``container`` (one consumer's lifecycle and poll loop), ``supervision`` (restarts), ``concurrent``
(``concurrency=N``), ``consumer_setup``, ``dispatcher`` / ``dispatch`` / ``transactions`` (record,
batch, exactly-once), ``failures`` (the one failure path), ``commits`` (ack modes), ``tracker``
(pending offsets, attempts, back-offs), ``seeks``, ``rebalance``, ``health`` (unanswered fetches),
``observer`` (counters and Prometheus), ``context`` (what error handlers see), ``status``.
"""

import warnings
from typing import Any

from kafka_kit.listener.arguments import (
    Inject,
    Payload,
    RecordField,
    RecordHeaders,
    RecordKey,
    RecordOffset,
    RecordPartition,
    RecordTimestamp,
    RecordTopic,
    ValueDeserializer,
)
from kafka_kit.listener.concurrent import ConcurrentListenerContainer
from kafka_kit.listener.consumer_setup import Subscription
from kafka_kit.listener.container import ContainerState, ListenerContainer
from kafka_kit.listener.context import ListenerContext
from kafka_kit.listener.endpoint import (
    InitialOffset,
    ListenerEndpoint,
    ListenerPreset,
    PartitionSpec,
    TopicPartitionOffset,
)
from kafka_kit.listener.observer import ListenerObserver, Outcome
from kafka_kit.listener.rebalance import RebalanceListener

__all__ = [
    "ConcurrentListenerContainer",
    "ContainerState",
    "InitialOffset",
    "Inject",
    "ListenerContainer",
    "ListenerContext",
    "ListenerEndpoint",
    "ListenerObserver",
    "ListenerPreset",
    "Outcome",
    "PartitionSpec",
    "Payload",
    "RebalanceListener",
    "RecordField",
    "RecordHeaders",
    "RecordKey",
    "RecordOffset",
    "RecordPartition",
    "RecordTimestamp",
    "RecordTopic",
    "Subscription",
    "TopicPartitionOffset",
    "ValueDeserializer",
]


def __getattr__(name: str) -> Any:
    # A deprecated alias (0.6): see kafka_kit.listener.endpoint.
    if name == "kafka_listener":
        warnings.warn(
            "import kafka_listener from kafka_kit; kafka_kit.listener.kafka_listener goes in 0.7",
            DeprecationWarning,
            stacklevel=2,
        )
        from kafka_kit.decorator import kafka_listener  # noqa: PLC0415

        return kafka_listener
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
