"""The one path every handler failure takes: count it, ask the error handler, act on the answer.

Record, batch and transactional dispatch all come here. The error handler decides (its attempts
counted per record): dealt with — the records are done (the dispatcher commits them its way) —
or delivered again after a back-off, for which the failed records' partitions are rewound to the
first failed record and paused while the consumer keeps polling, so it stays in its group.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import ConsumerRecord, TopicPartition

from kafka_kit.listener.context import ListenerContext
from kafka_kit.listener.tracker import PartitionTracker
from kafka_kit.recovery.error_handler import ErrorHandler

__all__ = ["FailureRouter", "first_offsets"]

Record = ConsumerRecord[bytes, bytes]


def first_offsets(records: Sequence[Record]) -> dict[TopicPartition, int]:
    """Per partition, the offset of its first record among ``records``.

    Args:
        records: Records of one or more partitions.
    """
    firsts: dict[TopicPartition, int] = {}
    for record in records:
        firsts.setdefault(TopicPartition(record.topic, record.partition), record.offset)
    return firsts


class FailureRouter:
    """Routes a failure to the error handler and carries out its decision.

    Args:
        error_handler: Decides what happens to failed records.
        context: The listener, as the error handler sees it.
        tracker: Pauses and counts per partition.
    """

    def __init__(
        self, error_handler: ErrorHandler, context: ListenerContext, tracker: PartitionTracker
    ) -> None:
        self.error_handler = error_handler
        self.context = context
        self.tracker = tracker

    async def route(
        self,
        consumer: AIOKafkaConsumer,
        exc: Exception,
        failed: Sequence[Record],
        *,
        minimum_back_off_s: float = 0.0,
    ) -> bool:
        """``True`` when the error handler dealt with ``failed`` (they are done); ``False``
        when they come again: their partitions are rewound and paused for the back-off.

        Args:
            consumer: The container's consumer.
            exc: What the handler raised.
            failed: The failed record, or the batch.
            minimum_back_off_s: Wait at least this long before a redelivery.
        """
        self.context.count("failed")
        attempt = self.tracker.next_attempt(failed[0])
        outcome = await self.error_handler.handle(exc, failed, attempt, self.context)
        if outcome.recovered:
            self.tracker.forget_attempts(failed[:1])
            return True
        self.context.count("retried")
        self.hold(consumer, first_offsets(failed), max(outcome.retry_after_s, minimum_back_off_s))
        return False

    def hold(
        self, consumer: AIOKafkaConsumer, rewind: dict[TopicPartition, int], seconds: float
    ) -> None:
        """Rewind each partition to its offset and pause it for ``seconds``.

        Args:
            consumer: The container's consumer.
            rewind: Per partition, the offset to read again from.
            seconds: How long to pause.
        """
        for tp, offset in rewind.items():
            consumer.seek(tp, offset)
        self.tracker.back_off(rewind, time.monotonic() + seconds)
        consumer.pause(*rewind)
