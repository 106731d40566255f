"""How a listener's outcomes are counted: one observer interface, two implementations.

Every record outcome (handled, failed, retried, recovered, dead-lettered) and every handler's
duration goes to the container's observers once: the counters of ``GET /listeners/{id}``
(:class:`~kafka_kit.status.ContainerMetrics`) and Prometheus (:class:`PrometheusObserver`, on the
registry the listeners were wired to). Error handlers and recoverers report through the listener
context, which forwards here, so the two views cannot disagree.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Literal, Protocol

from kafka_kit.metrics import KafkaMetrics

__all__ = [
    "OUTCOMES",
    "ListenerObserver",
    "Observers",
    "Outcome",
    "ProgressLog",
    "PrometheusObserver",
]

log = logging.getLogger("kafka_kit.listener")

Outcome = Literal[
    "handled", "failed", "retried", "recovered", "dead_lettered", "filtered", "released", "rejected"
]
"""``handled``: the handler returned; ``failed``: a delivery raised; ``retried``: it will be
delivered again (after a back-off, or from a retry topic); ``recovered``: given up on and dealt
with by a recoverer; ``dead_lettered``: recovered by a dead-letter topic; ``released`` and
``rejected``: a share-group record given back to the broker, or archived as unprocessable."""
OUTCOMES: tuple[Outcome, ...] = (
    "handled",
    "failed",
    "retried",
    "recovered",
    "dead_lettered",
    "filtered",
    "released",
    "rejected",
)


class ListenerObserver(Protocol):
    """Hears what a listener's container did."""

    def count(self, outcome: Outcome, records: int = 1) -> None:
        """``records`` records ended with ``outcome``.

        Args:
            outcome: How they ended.
            records: How many.
        """


class PrometheusObserver:
    """``kafka_listener_records_total{listener,outcome}`` and ``kafka_listener_handler_seconds``.

    Args:
        metrics: The kit's metrics on a registry.
        listener_id: The ``listener`` label.
    """

    def __init__(self, metrics: KafkaMetrics, listener_id: str) -> None:
        # Labelled children looked up once: a lookup costs more than an update.
        self._records = {
            outcome: metrics.listener_records.labels(listener_id, outcome) for outcome in OUTCOMES
        }
        self._seconds = metrics.batched_observer(
            metrics.listener_handler_seconds.labels(listener_id)
        )
        # Called once per record: the batched observer's own method, no call in between.
        self.handler_took: Callable[[float], None] = self._seconds.add

    def count(self, outcome: Outcome, records: int = 1) -> None:
        """Add to the outcome's counter.

        Args:
            outcome: The ``outcome`` label.
            records: How many.
        """
        self._records[outcome].inc(records)

    def flush(self) -> None:
        """Add the batched durations now."""
        self._seconds.flush()


class ProgressLog:
    """One INFO line per interval with what a listener did in it (nothing when it was idle).

    A busy listener handles thousands of records a second: a line per record would cost more
    than the records and drown the log, so handlers log single records at DEBUG and this sums up.

    Args:
        listener_id: The listener, for the log line.
        interval_s: How often to log.
        clock: Monotonic seconds.
    """

    def __init__(self, listener_id: str, interval_s: float, clock: Callable[[], float]) -> None:
        self.listener_id = listener_id
        self.interval_s = interval_s
        self._clock = clock
        self._since = clock()
        self._counts: dict[str, int] = dict.fromkeys(OUTCOMES, 0)

    def count(self, outcome: Outcome, records: int = 1) -> None:
        """Add to this interval's counts; log them once the interval is over.

        Args:
            outcome: How they ended.
            records: How many.
        """
        self._counts[outcome] += records
        self.tick()

    def tick(self) -> None:
        """Log the interval's counts if it is over (the poll loop calls this, busy or idle)."""
        now = self._clock()
        if now - self._since < self.interval_s:
            return
        if any(self._counts.values()):
            self._log(now)
        else:
            self._since = now  # an idle interval: nothing to say, and no rate to dilute

    def _log(self, now: float) -> None:
        took = now - self._since
        counts, self._counts = self._counts, dict.fromkeys(OUTCOMES, 0)
        self._since = now
        others = ", ".join(
            f"{n:,} {o.replace('_', '-')}" for o, n in counts.items() if n and o != "handled"
        )
        log.info(
            "listener %s: handled %s records in %.0f s (%s/s)%s",
            self.listener_id,
            f"{counts['handled']:,}",
            took,
            f"{counts['handled'] / took:,.0f}" if took > 0 else "-",
            f"; {others}" if others else "",
        )

    @classmethod
    def every(cls, listener_id: str, interval_s: float) -> ProgressLog | None:
        """A progress log for ``listener_id``, or ``None`` when ``interval_s`` is 0 (off).

        Args:
            listener_id: The listener.
            interval_s: How often to log (0: never).
        """
        return cls(listener_id, interval_s, time.monotonic) if interval_s > 0 else None


class Observers:
    """Every observer of one container; each outcome reaches each observer once.

    Args:
        observers: Every observer but the timer.
        timer: Also times each handler call.
    """

    def __init__(self, observers: Sequence[ListenerObserver], timer: PrometheusObserver) -> None:
        self._observers = tuple(observers)
        self._timer = timer

    def count(self, outcome: Outcome, records: int = 1) -> None:
        """Tell every observer.

        Args:
            outcome: How they ended.
            records: How many.
        """
        if records:
            for observer in self._observers:
                observer.count(outcome, records)

    @property
    def handler_took(self) -> Callable[[float], None]:
        """Where handler durations go (a bound method: called once per record)."""
        return self._timer.handler_took

    def flush(self) -> None:
        """Add batched values now."""
        self._timer.flush()
