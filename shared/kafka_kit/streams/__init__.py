"""Stateful stream processing on Quix Streams (extra ``streams``): Kafka Streams' role.

A topology is declared in code with :meth:`StreamsApplication.declare` — topics,
StreamingDataFrames, state stores whose every change is written to a compacted changelog topic,
windows with grace — and run by the app's lifespan with the same ``KAFKA_*`` settings as the
listeners, exactly-once by default; supervised: failing records go to their policies
(:mod:`kafka_kit.streams.failures`), a failed engine is replaced from the topology function.
Its state is read over HTTP with :class:`StoreReader` and :func:`key_owner`.
``State``, ``TopicConfig`` and ``message_context`` are the engine's, for the topology's functions.
"""

from kafka_kit._extras import requires_extra

with requires_extra("streams", __name__):
    from kafka_kit.streams._engine import (
        Application,
        Deserializer,
        State,
        TopicConfig,
        message_context,
    )
    from kafka_kit.streams.application import RestoreInfo, StreamsApplication, Topology
    from kafka_kit.streams.dead_letter import dead_letter_headers
    from kafka_kit.streams.failures import (
        FailureCounts,
        FailureKind,
        FailurePolicy,
        RecordRefused,
        StreamsEngineStalled,
        StreamsPolicyFailure,
        TimestampPolicy,
    )
    from kafka_kit.streams.limits import TopicLimits
    from kafka_kit.streams.metrics import StreamsCollector
    from kafka_kit.streams.ownership import KeyOwner, grouped_key, key_owner
    from kafka_kit.streams.settings import StreamsSettings
    from kafka_kit.streams.state import StreamsState
    from kafka_kit.streams.stores import StoreReader

__all__ = [
    "Application",
    "Deserializer",
    "FailureCounts",
    "FailureKind",
    "FailurePolicy",
    "KeyOwner",
    "RecordRefused",
    "RestoreInfo",
    "State",
    "StoreReader",
    "StreamsApplication",
    "StreamsCollector",
    "StreamsEngineStalled",
    "StreamsPolicyFailure",
    "StreamsSettings",
    "StreamsState",
    "TimestampPolicy",
    "TopicConfig",
    "TopicLimits",
    "Topology",
    "dead_letter_headers",
    "grouped_key",
    "key_owner",
    "message_context",
]
