"""Ctrl-C and SIGTERM for a running ``KafkaApp``: the first asks for a graceful stop."""

from __future__ import annotations

import asyncio
import logging
import signal

log = logging.getLogger("kafka_kit.app")

DUPLICATE_SIGNAL_S = 2.0
"""Signals this close to the first are the same stop request, not a second Ctrl-C."""


def on_signal(
    signum: int, stop: asyncio.Event, loop: asyncio.AbstractEventLoop, first: list[float]
) -> None:
    """Set ``stop`` on the first signal; a second one later re-raises it: stop at once."""
    now = loop.time()
    if not stop.is_set():
        log.info("received %s", signal.Signals(signum).name)
        first.append(now)
        stop.set()
        return
    if first and now - first[0] < DUPLICATE_SIGNAL_S:
        # The same Ctrl-C twice: a terminal signals the whole process group, and a supervisor
        # (--workers, --reload) forwards it as well.
        return
    # A second Ctrl-C later on: the user does not want to wait for a graceful stop.
    loop.remove_signal_handler(signum)
    signal.raise_signal(signum)
