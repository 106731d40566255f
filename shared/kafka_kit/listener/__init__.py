"""Listeners: ``@kafka_listener`` endpoints and the containers that run them.

``endpoint`` (the declaration), ``arguments`` (what a handler is called with), ``depends``
(FastAPI's ``Depends`` per record), ``container`` (one
consumer's lifecycle and poll loop), ``supervision`` (restarts), ``concurrent``
(``concurrency=N``), ``consumer_setup``, ``dispatcher`` / ``dispatch`` / ``transactions`` (record,
batch, exactly-once), ``failures`` (the one failure path), ``commits`` (ack modes), ``tracker``
(pending offsets, attempts, back-offs), ``seeks``, ``rebalance``, ``health`` (unanswered fetches),
``observer`` (counters and Prometheus), ``context`` (what error handlers see), ``status``.
"""

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
    kafka_listener,
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
    "kafka_listener",
]
