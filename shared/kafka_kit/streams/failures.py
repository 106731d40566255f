"""What a stream application does with a record it cannot read, process or write.

Kafka Streams' exception handlers, as policies per kind of failure: a record that cannot be
deserialized (``DeserializationExceptionHandler``), one the topology raises on
(``ProcessingExceptionHandler``, KIP-1033), one whose output the broker would refuse or refused
(``ProductionExceptionHandler``, KIP-210) — each goes to the application's dead-letter topic
(KIP-1034), is skipped and counted, or stops the application. A record timestamp the broker would
refuse is caught before it is produced: clamped to now, dead-lettered, or fatal.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from kafka_kit.errors import KafkaKitError

__all__ = [
    "FailureCounts",
    "FailureKind",
    "FailurePolicy",
    "RecordRefused",
    "StreamsEngineStalled",
    "StreamsPolicyFailure",
    "TimestampPolicy",
]


class FailureKind(enum.StrEnum):
    """Where a record failed."""

    DESERIALIZATION = "deserialization"
    PROCESSING = "processing"
    PRODUCTION = "production"


class FailurePolicy(enum.StrEnum):
    """What happens to a record that failed (Kafka Streams: LogAndFail / LogAndContinue + DLQ)."""

    DEAD_LETTER = "dead-letter"
    """To the dead-letter topic with Spring's ``kafka_dlt-*`` headers; processing goes on."""
    SKIP = "skip"
    """Logged and counted; processing goes on."""
    FAIL = "fail"
    """The application stops in ``ERROR`` and is not restarted: the record stays uncommitted."""


class TimestampPolicy(enum.StrEnum):
    """What happens to an output record whose timestamp the topic's broker would refuse."""

    CLAMP = "clamp"
    """Written with the current time instead (its own time stays in its value)."""
    DEAD_LETTER = "dead-letter"
    """Its input record goes to the dead-letter topic (as any production failure does)."""
    FAIL = "fail"
    """The application stops in ``ERROR``."""


class RecordRefused(KafkaKitError, ValueError):
    """An output record the broker would refuse (or refused): a production failure of its input."""

    def __init__(self, topic: str, reason: str) -> None:
        super().__init__(f"a record for {topic} cannot be written: {reason}")
        self.topic = topic
        self.reason = reason


class StreamsPolicyFailure(KafkaKitError, RuntimeError):
    """A policy said ``fail``: the application stops for good, the record uncommitted."""


class StreamsEngineStalled(KafkaKitError, RuntimeError):
    """The processing loop made no progress for too long: a call into the Kafka client hangs
    (librdkafka's ``send_offsets_to_transaction`` ignores its timeout while the group
    coordinator is away, librdkafka #5456). The engine is abandoned and replaced."""

    retriable = True


@dataclass
class FailureCounts:
    """How many records each policy took care of, per kind, since the application was made."""

    dead_lettered: dict[str, int] = field(default_factory=dict)
    """Records sent to the dead-letter topic, per failure kind."""
    skipped: dict[str, int] = field(default_factory=dict)
    """Records skipped, per failure kind."""
    timestamps_clamped: int = 0
    """Outputs whose timestamps were moved into the topic's range."""

    def count(self, kind: FailureKind, policy: FailurePolicy) -> None:
        """One more record of ``kind`` handled by ``policy``.

        Args:
            kind: Deserialization, processing or production.
            policy: What was done with the record.
        """
        counter = self.dead_lettered if policy is FailurePolicy.DEAD_LETTER else self.skipped
        counter[kind.value] = counter.get(kind.value, 0) + 1
