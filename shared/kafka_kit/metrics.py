"""Prometheus metrics (prometheus-client): template sends, listener records, consumer lag.

Importing this module registers nothing. ``KafkaMetrics.on(registry)`` creates the kit's metrics on
a registry (prometheus-client's global one by default) when a template or a listener registry is
wired to it, and gives the same object to everything wired to that registry afterwards.
"""

from __future__ import annotations

import bisect
import contextlib
import itertools
import threading
import weakref
from collections import deque
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CollectorRegistry, GaugeMetricFamily
from prometheus_client.registry import Collector

from kafka_kit.lag.evaluator import Status

if TYPE_CHECKING:
    from kafka_kit.lag.monitor import LagMonitors

__all__ = ["BatchedCounter", "BatchedObserver", "KafkaMetrics", "LagCollector", "render"]


class _Batched:
    """Values gathered for one metric child and added in one go: on flush, when many wait, or
    when the registry is scraped. A deque, so a scrape from another thread loses nothing."""

    flush_at = 1024

    def __init__(self, child: Any) -> None:
        self.child = child
        self._values: deque[float] = deque()

    def add(self, value: float) -> None:
        """Remember one value."""
        self._values.append(value)
        if len(self._values) >= self.flush_at:
            self.flush()

    def add_times(self, value: float, times: int) -> None:
        """Remember ``value`` ``times`` times (e.g. one latency shared by a batch's records)."""
        self._values.extend(itertools.repeat(value, times))
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

    Args:
        child: A labelled histogram child (``histogram.labels(...)``).
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


_B = TypeVar("_B", bound=_Batched)


class _FlushPendingOnScrape(Collector):
    """Adds every batched observation to its metric before the registry is read."""

    def __init__(self, metrics: KafkaMetrics) -> None:
        self.metrics = metrics

    def describe(self) -> Iterator[GaugeMetricFamily]:
        """No metrics of its own (and registering must not flush)."""
        return iter(())

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Flush; yields nothing of its own."""
        self.metrics.flush_pending()
        return iter(())


class KafkaMetrics:
    """The kit's metrics on one registry; batched values are added whenever it is scraped.

    Args:
        registry: Where the metrics are registered.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self._batches: weakref.WeakSet[_Batched] = weakref.WeakSet()
        # Registered before the metrics: a registry collects in registration order.
        registry.register(_FlushPendingOnScrape(self))
        self.template_sends = Counter(
            "kafka_template_sends",
            "Records sent by KafkaTemplate.",
            ["topic", "result"],
            registry=registry,
        )
        self.template_send_seconds = Histogram(
            "kafka_template_send_seconds",
            "Time from send() to the acknowledgement.",
            ["topic"],
            registry=registry,
        )
        self.listener_records = Counter(
            "kafka_listener_records",
            "Records a listener handled, failed on (a delivery), retried, recovered or "
            "dead-lettered.",
            ["listener", "outcome"],
            registry=registry,
        )
        self.share_in_flight = Gauge(
            "kafka_share_records_in_flight",
            "Share-group records a listener's members acquired and have not settled yet.",
            ["listener", "group"],
            registry=registry,
        )
        self.share_group_lag = Gauge(
            "kafka_share_group_lag",
            "Records of a share group's partition not settled yet, as Kafka counts them.",
            ["group", "topic", "partition"],
            registry=registry,
        )
        self.listener_handler_seconds = Histogram(
            "kafka_listener_handler_seconds",
            "Time a listener's handler took per call.",
            ["listener"],
            registry=registry,
        )

    @classmethod
    def on(cls, registry: CollectorRegistry | None = None) -> KafkaMetrics:
        """The kit's metrics on ``registry`` (the global one by default), created on first use.

        Args:
            registry: A Prometheus registry; the global one when omitted.
        """
        registry = REGISTRY if registry is None else registry
        with _created_lock:
            found = _created.get(registry)
            if found is None:
                found = _created[registry] = cls(registry)
        return found

    def batched_counter(self, child: Any) -> BatchedCounter:
        """A :class:`BatchedCounter` of ``child`` that this registry's scrapes flush.

        Args:
            child: A labelled counter child (``counter.labels(...)``).
        """
        return self._flushed_on_scrape(BatchedCounter(child))

    def batched_observer(self, child: Any) -> BatchedObserver:
        """A :class:`BatchedObserver` of ``child`` that this registry's scrapes flush.

        Args:
            child: A labelled histogram child (``histogram.labels(...)``).
        """
        return self._flushed_on_scrape(BatchedObserver(child))

    def _flushed_on_scrape(self, batched: _B) -> _B:
        self._batches.add(batched)
        return batched

    def flush_pending(self) -> None:
        """Add every batched value to its metric (done before each scrape)."""
        for batch in list(self._batches):
            batch.flush()


_created: dict[CollectorRegistry, KafkaMetrics] = {}
_created_lock = threading.Lock()


class LagCollector(Collector):
    """Evaluates every watched group at scrape time: lag per partition, status per group.

    Args:
        monitors: The lag monitors whose groups it reports.
    """

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
        up = GaugeMetricFamily(
            "kafka_lag_cluster_up",
            "1 while the lag monitor reaches the cluster, 0 while it cannot (and retries).",
            labels=["cluster"],
        )
        for name, monitor in self.monitors.monitors.items():
            up.add_metric([name], 1 if monitor.state == "running" else 0)
            for group in monitor.groups():
                evaluation = monitor.status(group)
                if evaluation.status is Status.NOTFOUND:
                    continue  # members but no commit: nothing to judge yet
                status.add_metric([name, group], int(evaluation.status))
                total.add_metric([name, group], evaluation.totallag)
                for p in evaluation.partitions:
                    lag.add_metric([name, group, p.topic, str(p.partition)], p.current_lag)
        yield from (lag, status, total, up)


def render(*registries: CollectorRegistry) -> tuple[bytes, str]:
    """The text exposition of ``registries`` (the global one if none), and its content type.

    Args:
        registries: The registries to expose, in order.
    """
    body = b"".join(generate_latest(registry) for registry in registries or (REGISTRY,))
    return body, CONTENT_TYPE_LATEST
