"""Where every asyncio task waits, printed shortly before pytest-timeout fails a hung test.

pytest-timeout prints the threads' stacks, and a hung asyncio test shows only its event loop idle
in ``select``: the coroutine that waits forever is in a task's stack, not a thread's.
"""

from __future__ import annotations

import asyncio
import gc
import io
import sys
import threading

import pytest

AHEAD_S = 10.0
"""How long before the test's timeout the tasks are printed."""

_TIMER = pytest.StashKey[threading.Timer]()


def print_waiting_tasks() -> None:
    """Print the stack of every task of every running event loop to stderr."""
    out = io.StringIO()
    loops = [o for o in gc.get_objects() if isinstance(o, asyncio.AbstractEventLoop)]
    for loop in loops:
        if not loop.is_running():
            continue
        out.write(f"{'~' * 20} asyncio tasks of {loop!r} {'~' * 20}\n")
        for task in asyncio.all_tasks(loop):
            out.write(f"--- {task!r}\n")
            task.print_stack(limit=12, file=out)
    sys.stderr.write(out.getvalue())
    sys.stderr.flush()


def arm(item: pytest.Item, timeout_s: float) -> None:
    """Print the tasks ``AHEAD_S`` before ``timeout_s`` runs out for ``item``."""
    if timeout_s > 2 * AHEAD_S:
        timer = threading.Timer(timeout_s - AHEAD_S, print_waiting_tasks)
        timer.daemon = True
        timer.start()
        item.stash[_TIMER] = timer


def disarm(item: pytest.Item) -> None:
    """The test ended in time: print nothing."""
    timer = item.stash.get(_TIMER, None)
    if timer is not None:
        timer.cancel()
