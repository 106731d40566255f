"""What tests check against the broker: records in a topic, a group's offsets, a condition."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from aiokafka.structs import ConsumerRecord

from kafka_kit.settings import KafkaSettings

__all__ = ["committed_offsets", "read_records", "wait_until", "wait_until_sync"]


async def read_records(
    bootstrap_servers: str,
    topic: str,
    count: int,
    *,
    timeout_s: float = 30.0,
    **consumer_config: Any,
) -> list[ConsumerRecord[bytes, bytes]]:
    """Read ``count`` records of ``topic`` from the beginning, without a group (Spring's
    ``KafkaTestUtils.getRecords``); fails with how many arrived when fewer do in time.

    Args:
        bootstrap_servers: The cluster (the test session's broker: ``kafka_bootstrap_servers``).
        topic: What to read.
        count: How many records to wait for.
        timeout_s: How long to wait for them.
        consumer_config: More ``AIOKafkaConsumer`` arguments (``isolation_level``…).
    """
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        **{**_security(bootstrap_servers), **consumer_config},
    )
    await consumer.start()
    got: list[ConsumerRecord[bytes, bytes]] = []
    try:
        async with asyncio.timeout(timeout_s):
            while len(got) < count:
                batch = await consumer.getmany(timeout_ms=500)
                got += [record for records in batch.values() for record in records]
    except TimeoutError:
        raise AssertionError(f"read {len(got)} of {count} records of {topic}") from None
    finally:
        await consumer.stop()
    return got


async def committed_offsets(bootstrap_servers: str, group_id: str) -> dict[tuple[str, int], int]:
    """The group's committed offsets, ``(topic, partition) -> offset`` (next to read).

    Args:
        bootstrap_servers: The cluster.
        group_id: The consumer group.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, **_security(bootstrap_servers))
    await admin.start()
    try:
        for attempt in range(50):
            try:
                offsets = await admin.list_consumer_group_offsets(group_id)
                break
            except KafkaError as exc:
                # The coordinator may still be loading the group: ask again, briefly.
                if not exc.retriable or attempt == 49:
                    raise
                await asyncio.sleep(0.1)
    finally:
        await admin.close()
    return {(tp.topic, tp.partition): meta.offset for tp, meta in offsets.items()}


class _Deadline:
    """One wait's deadline and the failure that says what was waited for."""

    def __init__(self, timeout_s: float, what: str | Callable[[], str]) -> None:
        self.timeout_s = timeout_s
        self.what = what
        self.at = time.monotonic() + timeout_s

    def check(self) -> None:
        """Fail with what was awaited if the deadline has passed."""
        if time.monotonic() > self.at:
            what = self.what if isinstance(self.what, str) else self.what()
            raise AssertionError(f"timed out after {self.timeout_s} s waiting for {what}")


async def wait_until(
    condition: Callable[[], Awaitable[bool]] | Callable[[], bool],
    timeout_s: float = 30.0,
    what: str | Callable[[], str] = "a condition",
    interval_s: float = 0.1,
) -> None:
    """Poll ``condition`` (sync or async) until it is true; fail after ``timeout_s``.

    Args:
        condition: asked every ``interval_s``; a coroutine it returns is awaited.
        timeout_s: how long to wait before failing with an ``AssertionError``.
        what: what is awaited, for the failure's message (a callable: asked then, to say
            what was last seen).
        interval_s: the pause between two asks.
    """
    deadline = _Deadline(timeout_s, what)
    while True:
        result = condition()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        deadline.check()
        await asyncio.sleep(interval_s)


def wait_until_sync(
    condition: Callable[[], object],
    timeout_s: float = 30.0,
    what: str | Callable[[], str] = "a condition",
    interval_s: float = 0.1,
) -> Any:
    """:func:`wait_until` for code without an event loop (processes, threads, subprocesses).

    Returns the condition's first true value, so a poll can hand back what it found.

    Args:
        condition: asked every ``interval_s`` until it returns something true.
        timeout_s: how long to wait before failing with an ``AssertionError``.
        what: what is awaited, for the failure's message (a callable: asked then, to say
            what was last seen).
        interval_s: the pause between two asks.
    """
    deadline = _Deadline(timeout_s, what)
    while True:
        result = condition()
        if result:
            return result
        deadline.check()
        time.sleep(interval_s)


def _security(bootstrap_servers: str) -> dict[str, Any]:
    """``KAFKA_SECURITY_*`` from the environment, as the kit's own clients get them."""
    return KafkaSettings(bootstrap_servers=bootstrap_servers).security_config()
