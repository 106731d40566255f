"""Bounded awaits and stops whose cancellation is never lost.

Python 3.11's ``asyncio.wait_for`` runs what it awaits as a second task; when a cancellation
arrives in the same loop turn as that task's result, it returns the result and the cancellation is
gone (python/cpython#86296; 3.12 rebuilt ``wait_for`` on ``asyncio.timeout``, as ``within`` is
here, and aiokafka carries the same replacement). A background loop that loses its cancellation
runs on, and a ``stop()`` awaiting it never returns: a service that hangs in its shutdown.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

T = TypeVar("T")

_CANCEL_AGAIN_S = 0.5


async def within(awaitable: Awaitable[T], timeout_s: float | None) -> T:
    """``awaitable``'s result, or :class:`TimeoutError` after ``timeout_s`` (``None``: no bound)."""
    async with asyncio.timeout(timeout_s):
        return await awaitable


async def cancel_and_wait(task: asyncio.Task[Any] | None) -> None:
    """Cancel ``task`` and return once it has ended, cancelling it again while it runs on.

    The task's own failure (other than its cancellation) is raised here, as ``await task`` would;
    a cancellation of the caller is not swallowed. ``None`` (nothing started): nothing to do.
    """
    if task is None:
        return
    while not task.done():
        task.cancel()
        # asyncio.wait neither cancels the task nor raises what it raised.
        await asyncio.wait((task,), timeout=_CANCEL_AGAIN_S)
    if not task.cancelled():
        task.result()
