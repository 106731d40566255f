"""Prometheus metrics of stream-processing applications, read when the registry is scraped."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from kafka_kit.streams.application import StreamsApplication
from kafka_kit.streams.state import StreamsState

__all__ = ["StreamsCollector"]


class StreamsCollector(Collector):
    """``kafka_streams_*``: state, records processed per topic, restore time.

    Args:
        applications: The stream applications to report (read at each scrape: a list the service
            fills and empties).
    """

    def __init__(self, applications: Sequence[StreamsApplication]) -> None:
        # Kept, not copied: an app's lifespan may add its applications after wiring this.
        self._applications = applications

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        """One sample per application (and topic or table) of each metric."""
        state = GaugeMetricFamily(
            "kafka_streams_state",
            "1 for the state the application is in (Kafka Streams' states)",
            labels=["application_id", "state"],
        )
        records_in = CounterMetricFamily(
            "kafka_streams_records_processed",
            "records the topology processed, per input topic",
            labels=["application_id", "topic"],
        )
        restore = GaugeMetricFamily(
            "kafka_streams_restore_seconds",
            "how long rebuilding the state stores from their changelogs took at the last start",
            labels=["application_id"],
        )
        for application in self._applications:
            app_id = application.application_id
            current = application.state
            for each in StreamsState:
                state.add_metric([app_id, each.value], 1.0 if each is current else 0.0)
            for topic, count in list(application.records_processed.items()):
                records_in.add_metric([app_id, topic], count)
            if application.restore is not None:
                restore.add_metric([app_id], application.restore.seconds)
        yield from (state, records_in, restore)
