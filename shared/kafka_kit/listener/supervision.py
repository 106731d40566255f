"""Keeping a poll loop alive: a loop that dies is closed and restarted with back-off.

Spring's containers stop when their consumer thread dies; here a crashed loop (a failing error
handler, a consumer that broke) shows ``FAILED`` with the error while it is restarted, 1 s after
the crash and up to 30 s apart, until it runs again or the container is stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Protocol

from aiokafka import AIOKafkaConsumer

from kafka_kit._internal.cancellation import cancel_and_wait, within

__all__ = ["ContainerState", "Supervised", "finish", "supervise"]

log = logging.getLogger(__name__)

RESTART_BACKOFF_S = (1.0, 30.0)


class ContainerState(StrEnum):
    """Where a container is in its life."""

    STOPPED = "stopped"
    STARTING = "starting"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPING = "stopping"
    FAILED = "failed"


class Supervised(Protocol):
    """What ``supervise`` keeps alive."""

    client_id: str
    state: ContainerState
    error: BaseException | None

    @property
    def paused_by_user(self) -> bool:
        """Whether a running loop should show ``PAUSED``."""
        ...

    def restarted(self) -> None:
        """Count a restart."""


async def supervise(
    target: Supervised,
    consumer: AIOKafkaConsumer | None,
    *,
    run: Callable[[AIOKafkaConsumer], Awaitable[None]],
    close: Callable[[AIOKafkaConsumer], Awaitable[None]],
    reopen: Callable[[], Awaitable[AIOKafkaConsumer]],
    stopping: asyncio.Event,
) -> None:
    """Run the poll loop on ``consumer`` until ``stopping``; restart it whenever it dies.

    ``consumer`` is ``None`` when it could not be opened (the target is ``FAILED`` with why):
    it is opened again after the first back-off.

    Args:
        target: The container (its state and restarts).
        consumer: The consumer to start with (``None``: open one).
        run: The poll loop.
        close: Closes a consumer that died.
        reopen: Opens a new one.
        stopping: Set when the container stops.
    """
    delay, max_delay = RESTART_BACKOFF_S
    while True:
        if consumer is not None:
            target.state = (
                ContainerState.PAUSED if target.paused_by_user else ContainerState.RUNNING
            )
            try:
                await run(consumer)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.exception("listener %s: the poll loop died; restarting", target.client_id)
                target.state, target.error = ContainerState.FAILED, exc
            finally:
                await close(consumer)
        while True:
            with contextlib.suppress(TimeoutError):
                await within(stopping.wait(), delay)
            if stopping.is_set():
                return
            delay = min(delay * 2, max_delay)
            target.restarted()
            try:
                consumer = await reopen()
                break
            except Exception as exc:  # noqa: BLE001 - stays FAILED, tries again
                log.warning("listener %s: restart failed: %r", target.client_id, exc)
                target.error = exc
        target.error = None


async def finish(task: asyncio.Task[None], timeout_s: float, client_id: str) -> None:
    """Let a stopping loop finish its work for ``timeout_s``, then cancel it.

    Args:
        task: The loop (``supervise``'s task), told to stop.
        timeout_s: How long its handler may take to finish.
        client_id: Names the consumer in the warning.
    """
    done, _ = await asyncio.wait({task}, timeout=timeout_s)
    if not done:
        log.warning("listener %s: not done within %.1f s; cancelled", client_id, timeout_s)
        await cancel_and_wait(task)
