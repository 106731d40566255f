import asyncio
import time

import pytest

from kafka_kit._internal.deadlines import DeadlineGuard
from kafka_kit.testing import wait_until


async def guarded_wait(guard: DeadlineGuard, seconds: float) -> str:
    task = guard.enter()
    try:
        await asyncio.sleep(seconds)
    except asyncio.CancelledError:
        if guard.leave(task):
            return "timed out"
        raise
    guard.leave(task)
    return "done"


async def test_a_wait_past_the_deadline_times_out_within_a_tick() -> None:
    guard = DeadlineGuard(0.2)
    started = time.monotonic()
    assert await guarded_wait(guard, 30) == "timed out"
    assert 0.2 <= time.monotonic() - started < 0.2 + 2 * guard.tick_s


async def test_waits_in_time_are_untouched_and_many_share_one_timer() -> None:
    guard = DeadlineGuard(5)
    results = await asyncio.gather(*(guarded_wait(guard, 0.01) for _ in range(200)))
    assert results == ["done"] * 200
    assert guard._deadlines == {}


async def test_a_cancellation_from_elsewhere_stays_a_cancellation() -> None:
    guard = DeadlineGuard(5)
    task = asyncio.create_task(guarded_wait(guard, 30))
    await wait_until(lambda: bool(guard._deadlines), 5, "the wait guarded")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_the_timed_out_task_is_not_left_cancelling() -> None:
    guard = DeadlineGuard(0.1)
    assert await guarded_wait(guard, 30) == "timed out"
    current = asyncio.current_task()
    assert current is not None and current.cancelling() == 0
    await asyncio.sleep(0)  # the task goes on normally


async def test_a_cancellation_from_elsewhere_at_the_deadline_is_not_taken_for_a_timeout() -> None:
    guard = DeadlineGuard(0)
    task = asyncio.create_task(guarded_wait(guard, 30))
    await asyncio.sleep(0)  # waiting, its deadline passed
    guard._check()  # the guard's tick cancels it …
    task.cancel()  # … and so does its caller, before it runs again
    done, _ = await asyncio.wait((task,), timeout=5)
    assert done and task.cancelled()
