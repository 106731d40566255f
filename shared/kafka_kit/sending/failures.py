"""What a failed send says: whether the producer is broken, whether the cluster may be away."""

from __future__ import annotations

from aiokafka.errors import (
    InvalidProducerEpoch,
    KafkaConnectionError,
    KafkaError,
    KafkaTimeoutError,
    OutOfOrderSequenceNumber,
    ProducerClosed,
    ProducerFenced,
    UnknownProducerId,
)

from kafka_kit.errors import DeliveryUnknownError

__all__ = ["LOOKS_UNREACHABLE", "NOT_WRITTEN_BY_THE_OLD", "breaks_the_producer"]

LOOKS_UNREACHABLE = (DeliveryUnknownError, TimeoutError, KafkaTimeoutError, KafkaConnectionError)
"""Send failures after which the cluster is probed (writes fail fast while it does not answer)."""

LOST_SEQUENCE = (OutOfOrderSequenceNumber, UnknownProducerId, InvalidProducerEpoch)
"""The broker refused a batch for its producer id, epoch or sequence — never wrote it. The
producer's sequence state is broken: every later batch to the partition fails the same way."""

NOT_WRITTEN_BY_THE_OLD = (*LOST_SEQUENCE, ProducerClosed)
"""What a record met on a producer that was being replaced: certainly not written, so sent again
on the new one (a replaced producer closes; a send that reached it then meets ProducerClosed)."""


def breaks_the_producer(cause: BaseException | None, handed_over: bool) -> bool:
    """Whether a failed send leaves the producer unusable for its partition (or at all).

    A batch the broker refused for good (a timestamp out of range, too large, not authorized)
    still used up its sequence numbers: the next batch's sequence is one the broker does not
    expect. Kafka's Java client bumps the epoch and resets the sequences (KIP-360); aiokafka
    does not, so the template replaces the producer, as Spring's producer factory does.

    Args:
        cause: What the send failed with.
        handed_over: The record had reached the producer (a failure before that breaks nothing).
    """
    if not handed_over or cause is None:
        return False
    if isinstance(cause, (*LOST_SEQUENCE, ProducerFenced)):
        return True
    return isinstance(cause, KafkaError) and not cause.retriable
