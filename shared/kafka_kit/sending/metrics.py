"""The template's send metrics: counts and latency per topic, batched between scrapes."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from kafka_kit.metrics import BatchedCounter, BatchedObserver, KafkaMetrics

__all__ = ["SendMetrics"]


class SendMetrics:
    """``kafka_template_sends_total`` and ``kafka_template_send_seconds`` of one template.

    Args:
        registry: A Prometheus registry (the global one when omitted).
    """

    def __init__(self, registry: CollectorRegistry | None) -> None:
        self._kit = KafkaMetrics.on(registry)
        self._topics: dict[str, tuple[BatchedCounter, BatchedCounter, BatchedObserver]] = {}

    def count(self, topic: str, sent: int, failed: int, elapsed: float) -> None:
        """``sent`` and ``failed`` records of ``topic``; each sent one waited ``elapsed``.

        Args:
            topic: The records' topic.
            sent: How many were acknowledged.
            failed: How many failed.
            elapsed: Seconds each sent one waited.
        """
        ok_counter, failed_counter, latency = self._of(topic)
        if sent:
            ok_counter.add(sent)
            # Once per record sent, as the counter counts: each waited this long for its answer.
            latency.add_times(elapsed, sent)
        if failed:
            failed_counter.add(failed)

    def flush(self) -> None:
        """Add what is batched now (a template that goes away leaves its counts behind)."""
        for batched in self._topics.values():
            for metric in batched:
                metric.flush()

    def _of(self, topic: str) -> tuple[BatchedCounter, BatchedCounter, BatchedObserver]:
        # Looking up labelled children costs more than updating them: once per topic. Updates
        # are batched (added at each scrape): a lock per update was a real share of a send.
        found = self._topics.get(topic)
        if found is None:
            kit = self._kit
            found = self._topics[topic] = (
                kit.batched_counter(kit.template_sends.labels(topic, "ok")),
                kit.batched_counter(kit.template_sends.labels(topic, "error")),
                kit.batched_observer(kit.template_send_seconds.labels(topic)),
            )
        return found
