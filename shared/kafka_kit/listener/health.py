"""A listener that polls but hears nothing back: fetches of a partition that go unanswered.

aiokafka's fetcher logs a failing fetch and tries again, for ever: the poll loop goes on, returns
nothing, and the listener looks healthy while it consumes nothing. The watch compares, per
assigned and unpaused partition, the last fetch answer (``last_poll_timestamp``) and the last
record with the time the loop last polled: quiet for longer than ``stall_timeout_s`` while the
loop kept polling is a stall.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

__all__ = ["FetchWatch"]


class FetchWatch:
    """When each partition last showed life, and when the poll loop last polled.

    Args:
        stall_timeout_s: A partition silent for longer (with records waiting) is stalled.
    """

    def __init__(self, stall_timeout_s: float) -> None:
        self.stall_timeout_s = stall_timeout_s
        self._last_poll: float | None = None
        self._progress: dict[TopicPartition, float] = {}

    def reset(self) -> None:
        """A new consumer: nothing known yet."""
        self._last_poll = None
        self._progress.clear()

    def polled(self, partitions_with_records: Iterable[TopicPartition]) -> None:
        """A poll returned; these partitions had records.

        Args:
            partitions_with_records: The partitions that had records.
        """
        now = time.monotonic()
        self._last_poll = now
        for tp in partitions_with_records:
            self._progress[tp] = now

    def restart_clock(self, partitions: Iterable[TopicPartition]) -> None:
        """Assigned or resumed: their silence is counted from now.

        Args:
            partitions: Partitions assigned or resumed.
        """
        now = time.monotonic()
        for tp in partitions:
            self._progress[tp] = now

    def stalled(self, consumer: AIOKafkaConsumer) -> list[tuple[TopicPartition, float]]:
        """Partitions quiet for longer than the stall timeout, with how long, worst first.

        Args:
            consumer: The container's consumer (its positions and the log ends).
        """
        now = time.monotonic()
        if self._last_poll is None or now - self._last_poll > self.stall_timeout_s:
            return []  # not polling (busy in a handler, or stopping): not a fetch problem
        wall_ms = time.time() * 1000
        paused = consumer.paused()
        quiet: list[tuple[TopicPartition, float]] = []
        for tp in consumer.assignment():
            if tp in paused:
                self._progress[tp] = now  # paused partitions are not fetched
                continue
            answered = consumer.last_poll_timestamp(tp)
            since_answer = (wall_ms - answered) / 1000 if answered else float("inf")
            since_progress = now - self._progress.setdefault(tp, now)
            silent = min(since_answer, since_progress)
            if silent > self.stall_timeout_s:
                quiet.append((tp, silent))
        return sorted(quiet, key=lambda item: -item[1])

    def describe(self, consumer: AIOKafkaConsumer) -> str | None:
        """``stalled: …`` naming the silent partitions, or ``None``.

        Args:
            consumer: The container's consumer.
        """
        stalled = self.stalled(consumer)
        if not stalled:
            return None
        names = ", ".join(f"{tp.topic}-{tp.partition}" for tp, _ in stalled)
        return f"stalled: no answer to fetches of {names} for {stalled[0][1]:.0f} s"
