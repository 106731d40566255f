"""Prometheus metrics (prometheus-client): template sends, listener records, consumer lag."""

from __future__ import annotations

import bisect
import contextlib
import weakref
from collections import deque
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest
from prometheus_client.core import CollectorRegistry, GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from shared.lag.monitor import LagMonitors

_batches: weakref.WeakSet[_Batched] = weakref.WeakSet()


class _FlushPendingOnScrape(Collector):
    """Adds every batched observation to its metric before the registry is read."""

    def describe(self) -> Iterator[GaugeMetricFamily]:
        """No metrics of its own (and registering must not flush)."""
        return iter(())

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Flush; yields nothing of its own."""
        flush_pending()
        return iter(())


# Registered before the metrics below: the registry collects in registration order.
REGISTRY.register(_FlushPendingOnScrape())

TEMPLATE_SENDS = Counter(
    "kafka_template_sends", "Records sent by KafkaTemplate.", ["topic", "result"]
)
TEMPLATE_SEND_SECONDS = Histogram(
    "kafka_template_send_seconds", "Time from send() to the acknowledgement.", ["topic"]
)
LISTENER_RECORDS = Counter(
    "kafka_listener_records",
    "Records a listener handled, failed on (a delivery), retried, recovered or dead-lettered.",
    ["listener", "outcome"],
)
LISTENER_HANDLER_SECONDS = Histogram(
    "kafka_listener_handler_seconds", "Time a listener's handler took per call.", ["listener"]
)


class _Batched:
    """Values gathered for one metric child and added in one go: on flush, when many wait, or
    when the registry is scraped. A deque, so a scrape from another thread loses nothing."""

    flush_at = 1024

    def __init__(self, child: Any) -> None:
        self.child = child
        self._values: deque[float] = deque()
        _batches.add(self)

    def add(self, value: float) -> None:
        """Remember one value."""
        self._values.append(value)
        if len(self._values) >= self.flush_at:
            self.flush()

    def flush(self) -> None:
        """Add what was remembered to the metric."""
        pending, values = self._values, []
        with contextlib.suppress(IndexError):  # a scrape's thread took the rest
            for _ in range(len(pending)):
                values.append(pending.popleft())
        if values:
            self._apply(values)

    def _apply(self, values: list[float]) -> None:
        raise NotImplementedError


class BatchedCounter(_Batched):
    """Increments of one counter child, added as one ``inc``."""

    def _apply(self, values: list[float]) -> None:
        self.child.inc(sum(values))


class BatchedObserver(_Batched):
    """Observations of one histogram child, each bucket's count added once per flush.

    ``Histogram.observe`` takes a lock and walks the buckets for every value: at 100,000 records
    a second that is a real part of a listener's cost. This keeps the same buckets and sum. It
    uses the child's bucket counters directly and falls back to ``observe`` if a future
    prometheus-client lays them out differently.
    """

    def __init__(self, child: Any) -> None:
        super().__init__(child)
        self._bounds: list[float] | None = getattr(child, "_upper_bounds", None)

    def _apply(self, values: list[float]) -> None:
        buckets = getattr(self.child, "_buckets", None)
        total = getattr(self.child, "_sum", None)
        if self._bounds is None or buckets is None or total is None:
            for value in values:
                self.child.observe(value)
            return
        counts = [0] * len(self._bounds)
        for value in values:
            counts[bisect.bisect_left(self._bounds, value)] += 1
        for index, count in enumerate(counts):
            if count:
                buckets[index].inc(count)
        total.inc(sum(values))


def flush_pending() -> None:
    """Add every batched value to its metric (done before each scrape of the default registry)."""
    for batch in list(_batches):
        batch.flush()


class LagCollector(Collector):
    """Evaluates every watched group at scrape time: lag per partition, status per group."""

    def __init__(self, monitors: LagMonitors) -> None:
        self.monitors = monitors

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """One sample per partition (lag) and per group (status, total lag)."""
        lag = GaugeMetricFamily(
            "kafka_consumergroup_lag",
            "Log-end offset minus committed offset.",
            labels=["cluster", "group", "topic", "partition"],
        )
        status = GaugeMetricFamily(
            "kafka_consumergroup_status",
            "Burrow status of the group: 1 OK, 2 WARN, 3 ERR.",
            labels=["cluster", "group"],
        )
        total = GaugeMetricFamily(
            "kafka_consumergroup_totallag", "Sum of the group's lag.", labels=["cluster", "group"]
        )
        for name, monitor in self.monitors.monitors.items():
            for group in monitor.groups():
                evaluation = monitor.status(group)
                if evaluation is None:
                    continue
                status.add_metric([name, group], int(evaluation.status))
                total.add_metric([name, group], evaluation.totallag)
                for p in evaluation.partitions:
                    lag.add_metric([name, group, p.topic, str(p.partition)], p.current_lag)
        yield from (lag, status, total)


def render(extra: CollectorRegistry | None = None) -> tuple[bytes, str]:
    """The text exposition of the process-wide metrics plus ``extra``, and its content type."""
    body = generate_latest(REGISTRY)
    if extra is not None:
        body += generate_latest(extra)
    return body, CONTENT_TYPE_LATEST
