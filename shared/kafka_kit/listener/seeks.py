"""Seeks: queued by whoever asks, applied by the poll loop before its next poll.

``seek()`` answers a future that completes once the seek was applied. An offset past the log end
is taken as the end (the listener waits for new records) and one before the log start as the
start — never Kafka's reset policy, which would re-read a partition from its earliest offset.
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from kafka_kit._internal.cancellation import within
from kafka_kit.errors import RegistryStateError
from kafka_kit.listener.tracker import PartitionTracker
from kafka_kit.seek import SeekPosition, SeekRequest

__all__ = ["SeekQueue"]

log = logging.getLogger(__name__)


class SeekQueue:
    """Seek requests waiting for the poll loop, each with the future its caller awaits."""

    def __init__(self) -> None:
        self._waiting: list[tuple[SeekRequest, asyncio.Future[None]]] = []

    def add(self, request: SeekRequest) -> asyncio.Future[None]:
        """Queue ``request``; the future completes when it was applied.

        Args:
            request: Where to seek.
        """
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((request, future))
        return future

    def __bool__(self) -> bool:
        return bool(self._waiting)

    async def apply(
        self,
        consumer: AIOKafkaConsumer,
        tracker: PartitionTracker,
        *,
        paused_by_user: bool,
        timeout_s: float,
        listener: str,
    ) -> None:
        """Carry out every queued seek on the partitions ``consumer`` owns.

        Args:
            consumer: The container's consumer.
            tracker: Forgets back-offs of the moved partitions.
            paused_by_user: The listener is paused: it stays paused after the seek.
            timeout_s: Bounds the offset lookups.
            listener: For log lines.
        """
        waiting, self._waiting = self._waiting, []
        for request, future in waiting:
            try:
                tps = await within(_seek(consumer, request, tracker, paused_by_user), timeout_s)
            except Exception as exc:  # noqa: BLE001 - the caller hears it
                if not future.done():
                    future.set_exception(exc)
                continue
            log.info("listener %s: seek %s on %s", listener, request.position, tps)
            if not future.done():
                future.set_result(None)

    def cancel(self, reason: str) -> None:
        """The container stops: nobody waits for seeks that will not be applied.

        Args:
            reason: Why, for the waiters' error.
        """
        waiting, self._waiting = self._waiting, []
        for _, future in waiting:
            if not future.done():
                future.set_exception(RegistryStateError(reason))


async def _seek(
    consumer: AIOKafkaConsumer,
    request: SeekRequest,
    tracker: PartitionTracker,
    paused_by_user: bool,
) -> list[TopicPartition]:
    assigned = consumer.assignment()
    if request.partitions is None:
        tps = sorted(assigned)
    else:
        wanted = [TopicPartition(p.topic, p.partition) for p in request.partitions]
        tps = [tp for tp in wanted if tp in assigned]
    if not tps:
        return tps
    tracker.moved(tps)
    match request.position:
        case SeekPosition.BEGINNING:
            await consumer.seek_to_beginning(*tps)
        case SeekPosition.END:
            await consumer.seek_to_end(*tps)
        case SeekPosition.OFFSET:
            assert request.offset is not None
            starts = await consumer.beginning_offsets(tps)
            ends = await consumer.end_offsets(tps)
            for tp in tps:
                consumer.seek(tp, min(max(request.offset, starts[tp]), ends[tp]))
        case SeekPosition.TIMESTAMP:
            assert request.timestamp is not None
            found = await consumer.offsets_for_times(dict.fromkeys(tps, request.timestamp))
            ends = await consumer.end_offsets([tp for tp in tps if found.get(tp) is None])
            for tp in tps:
                hit = found.get(tp)
                consumer.seek(tp, hit.offset if hit is not None else ends[tp])
    # aiokafka resolves beginning and end lazily, at the next fetch: resolve them now, so "the
    # end" is the end when the seek is applied, not whenever the fetch happens.
    for tp in tps:
        await consumer.position(tp)
    if not paused_by_user:
        consumer.resume(*tps)
    return tps
