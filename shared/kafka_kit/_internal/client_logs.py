"""aiokafka's connection errors, condensed: one line per broker and message per minute, counted.

With a broker away, aiokafka logs every reconnect attempt and metadata failure — tens of lines a
second. :func:`condense_client_logs` (called by the services at start, never at import) keeps the
first line of each kind per broker, drops repeats for ``window_s``, and then says how many there
were.
"""

from __future__ import annotations

import logging
import re
import time

__all__ = ["CondensingFilter", "condense_client_logs"]

_NUMBERS = re.compile(r"\d+")


class CondensingFilter(logging.Filter):
    """Passes a record, then drops the same message (numbers aside) for ``window_s``."""

    def __init__(self, window_s: float = 60.0) -> None:
        super().__init__()
        self.window_s = window_s
        self._seen: dict[tuple[str, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        """Whether to emit ``record`` (with the count of those dropped since the last one)."""
        if record.levelno < logging.WARNING:
            return True
        # The broker (host:port, node id) stays in the key; changing counters do not.
        message = record.getMessage()
        key = (record.name, _NUMBERS.sub("#", message) + " " + _broker(message))
        now = time.monotonic()
        first, dropped = self._seen.get(key, (0.0, -1))
        if dropped >= 0 and now - first < self.window_s:
            self._seen[key] = (first, dropped + 1)
            return False
        self._seen[key] = (now, 0)
        if dropped > 0:
            record.msg = f"{message} (and {dropped} more like it in the last {self.window_s:.0f} s)"
            record.args = None
        return True


def _broker(message: str) -> str:
    found = re.search(r"\d+\.\d+\.\d+\.\d+'?,? ?:?\s?\d+|node with id \d+", message)
    return found.group(0) if found else ""


def condense_client_logs(window_s: float = 60.0) -> CondensingFilter:
    """Install one :class:`CondensingFilter` on aiokafka's log handlers' source loggers."""
    condensing = CondensingFilter(window_s)
    for name in ("aiokafka", "aiokafka.client", "aiokafka.conn", "aiokafka.producer.sender",
                 "aiokafka.consumer.fetcher", "aiokafka.consumer.group_coordinator"):  # fmt: skip
        logging.getLogger(name).addFilter(condensing)
    return condensing
