"""Error recovery: what happens to a record its listener could not handle.

``back_off`` (how long before the next attempt), ``error_handler`` (blocking retries, then a
recoverer: Spring's ``DefaultErrorHandler``), ``retry_topics`` (non-blocking retries through
``<topic>-retry-<delay>`` topics: Spring's ``@RetryableTopic``), ``dead_letter`` (the recoverer
that publishes to ``<topic>-dlt`` with why) and ``dead_letter_replay`` (read a DLT and send its
records back, once each).
"""

from kafka_kit.recovery.back_off import BackOff, ExponentialBackOff, FixedBackOff
from kafka_kit.recovery.dead_letter import DeadLetterPublishingRecoverer, dead_letter_topic
from kafka_kit.recovery.dead_letter_replay import DeadLetter, DeadLetterReplayer
from kafka_kit.recovery.error_handler import (
    ConsumerRecordRecoverer,
    DefaultErrorHandler,
    ErrorHandler,
    ErrorOutcome,
    RetryListener,
)
from kafka_kit.recovery.retry_topics import RetryTopics

__all__ = [
    "BackOff",
    "ConsumerRecordRecoverer",
    "DeadLetter",
    "DeadLetterPublishingRecoverer",
    "DeadLetterReplayer",
    "DefaultErrorHandler",
    "ErrorHandler",
    "ErrorOutcome",
    "ExponentialBackOff",
    "FixedBackOff",
    "RetryListener",
    "RetryTopics",
    "dead_letter_topic",
]
