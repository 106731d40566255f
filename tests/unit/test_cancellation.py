"""Cancellations are never lost: bounded awaits and stops (the asyncio mechanics, no Kafka)."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from kafka_kit._internal.cancellation import cancel_and_wait, within
from kafka_kit.testing import wait_until


async def test_within_keeps_a_cancellation_that_arrives_with_the_result() -> None:
    # The shape that made Python 3.11's wait_for return the result and drop the cancellation.
    async def answer_as_the_cancel_arrives(caller: asyncio.Task[str]) -> int:
        asyncio.get_running_loop().call_soon(caller.cancel)
        return 1

    async def caller() -> str:
        await within(answer_as_the_cancel_arrives(task), 5)
        await asyncio.sleep(5)
        return "ran on"

    task = asyncio.create_task(caller())
    done, _ = await asyncio.wait((task,), timeout=2)
    assert done and task.cancelled()


async def test_within_bounds_the_wait() -> None:
    with pytest.raises(TimeoutError):
        await within(asyncio.Event().wait(), 0.05)
    assert await within(asyncio.sleep(0, "answer"), None) == "answer"


async def test_cancel_and_wait_ends_a_task_that_lost_its_first_cancellation() -> None:
    async def loses_one() -> None:
        with contextlib.suppress(asyncio.CancelledError):  # a lost cancellation, seen from outside
            await asyncio.sleep(30)
        await asyncio.sleep(30)

    task = asyncio.create_task(loses_one())
    await asyncio.sleep(0)
    await within(cancel_and_wait(task), 10)
    assert task.cancelled()


async def test_cancel_and_wait_raises_what_the_task_raised() -> None:
    async def fails_when_cancelled() -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            raise RuntimeError("closing failed") from None

    task = asyncio.create_task(fails_when_cancelled())
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="closing failed"):
        await cancel_and_wait(task)


async def test_the_callers_own_cancellation_is_not_swallowed() -> None:
    released = asyncio.Event()

    async def ends_only_when_released() -> None:
        while not released.is_set():
            with contextlib.suppress(asyncio.CancelledError):
                await released.wait()

    stubborn = asyncio.create_task(ends_only_when_released())
    await asyncio.sleep(0)
    stopping = asyncio.create_task(cancel_and_wait(stubborn))
    await wait_until(lambda: stubborn.cancelling() > 0, 5, "the stubborn task asked to stop")
    stopping.cancel()
    done, _ = await asyncio.wait((stopping,), timeout=5)
    assert done and stopping.cancelled()
    assert not stubborn.done()
    released.set()
    await within(stubborn, 5)
