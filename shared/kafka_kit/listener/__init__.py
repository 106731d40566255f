"""Listeners: the endpoints ``@kafka_listener`` declares and the containers that run them.

The decorator itself is :mod:`kafka_kit.decorator`. ``endpoint`` (the declaration),
``arguments`` (what a handler is called with), ``depends`` (FastAPI's ``Depends`` per record),
``container`` (one consumer's lifecycle and poll loop), ``supervision`` (restarts), ``concurrent``
(``concurrency=N``), ``consumer_setup``, ``dispatcher`` / ``dispatch`` / ``transactions`` (record,
batch, exactly-once), ``failures`` (the one failure path), ``commits`` (ack modes), ``tracker``
(pending offsets, attempts, back-offs), ``seeks``, ``rebalance``, ``health`` (unanswered fetches),
``observer`` (counters and Prometheus), ``context`` (what error handlers see), ``status``.
"""

from kafka_kit._deprecation import moved_names
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
from kafka_kit.listener.markers import (
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


# A deprecated alias (0.6): the decorator moved to kafka_kit.decorator, beside the registry it
# registers with (which imports this package).
__getattr__ = moved_names(__name__, {"kafka_listener": "kafka_kit"}, removal="0.7")
