"""Bound many concurrent awaits with one timer, not one timer each.

``asyncio.timeout`` arms a timer per use; at tens of thousands of sends a second that is a real
share of the template's cost. A guard keeps each waiting task's deadline in a dict and checks them
all from a single repeating timer: a task past its deadline is cancelled and told it timed out. The
price is precision: a timeout fires up to one tick (at most a second) late.
"""

from __future__ import annotations

import asyncio


class DeadlineGuard:
    """Cancels tasks that wait past ``timeout_s``; ``expired()`` tells them it was a timeout."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self.tick_s = min(1.0, max(0.05, timeout_s / 20))
        self._deadlines: dict[asyncio.Task[object], float] = {}
        self._expired: set[asyncio.Task[object]] = set()
        self._timer: asyncio.TimerHandle | None = None

    def enter(self) -> asyncio.Task[object] | None:
        """Start the clock for the current task (outside a task there is nothing to guard)."""
        task = asyncio.current_task()
        if task is None:
            return None
        loop = asyncio.get_running_loop()
        self._deadlines[task] = loop.time() + self.timeout_s
        if self._timer is None:
            self._timer = loop.call_later(self.tick_s, self._check)
        return task

    def leave(self, task: asyncio.Task[object] | None) -> bool:
        """Stop the clock; ``True`` when the guard's cancellation was the only one (timed out)."""
        if task is None:
            return False
        self._deadlines.pop(task, None)
        if task in self._expired:
            self._expired.discard(task)
            # A cancellation from elsewhere at the same moment is still owed: it wins, as in
            # asyncio.timeout.
            return task.uncancel() == 0
        return False

    def _check(self) -> None:
        self._timer = None
        loop = asyncio.get_event_loop()
        now = loop.time()
        late = [task for task, deadline in self._deadlines.items() if deadline <= now]
        for task in late:
            del self._deadlines[task]
            self._expired.add(task)
            task.cancel()
        if self._deadlines:
            self._timer = loop.call_later(self.tick_s, self._check)
