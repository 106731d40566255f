"""The provisioned Grafana dashboard asks only for what the two services really export.

Both services run against the real broker, an event is posted, a poison pill is dead-lettered
and the stream topology runs; then every panel query's metric names (and the labels it groups,
matches or labels its legend by) must be in what the services' ``/metrics`` answered.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

import httpx
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from consumer_service.app import create_app as create_consumer_app
from consumer_service.event_stats import EventStatsSettings
from consumer_service.settings import EventLogSettings, ListenerRetrySettings
from event_contract.events import EventsTopicSettings
from kafka_kit.settings import KafkaSettings, LagSettings
from kafka_kit.streams import StreamsSettings
from kafka_kit.testing import wait_until
from producer_service.app import create_app as create_producer_app
from tests.app_helpers import running
from tests.kafka_helpers import produce

DASHBOARD = Path(__file__).resolve().parents[2] / "compose/grafana/dashboards/kafka-kit.json"

_NOT_METRICS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and",
                "or", "unless", "offset"}  # fmt: skip

Exported = dict[str, list[dict[str, str]]]
"""Sample name → the label sets it was exported with."""


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (not its functions, labels or keywords)."""
    bare = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    bare = re.sub(r"\{[^}]*\}|\[[^\]]*\]", "", bare)
    bare = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", bare)
    return {
        m.group()
        for m in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", bare)
        if m.group() not in _NOT_METRICS and not bare[m.end() :].lstrip().startswith("(")
    }


def labels_used(expr: str, legend: str) -> set[str]:
    """Labels grouped by, matched on, or shown in the legend."""
    grouped = re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", expr)
    matched = re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!=|!~|=)", " ".join(
        re.findall(r"\{([^}]*)\}", expr)))  # fmt: skip
    shown = re.findall(r"\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}", legend)
    names = {n.strip() for group in grouped for n in group.split(",") if n.strip()}
    return names | set(matched) | set(shown)


def test_the_extractor_finds_metrics_not_functions_labels_or_keywords() -> None:
    expr = (
        'histogram_quantile(0.99, sum by (le, topic) (rate(x_seconds_bucket{a="b(c)"}[1m])))'
        " / on (topic) group_left y_total"
    )
    assert metric_names(expr) == {"x_seconds_bucket", "y_total"}
    assert labels_used(expr, "p99 {{topic}}") == {"le", "topic", "a"}


def _exported(*texts: str) -> Exported:
    found: Exported = defaultdict(list)
    for text in texts:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                found[sample.name].append(dict(sample.labels))
    return found


async def _scrape(producer: httpx.AsyncClient, consumer: httpx.AsyncClient) -> Exported:
    return _exported((await producer.get("/metrics")).text, (await consumer.get("/metrics")).text)


async def test_every_panel_asks_for_metrics_and_labels_the_services_export(
    kafka_settings: KafkaSettings, topic_name: str, tmp_path: Path
) -> None:
    events = EventsTopicSettings(topic=topic_name, partitions=2)
    producer_app = create_producer_app(kafka_settings, events, metrics_registry=CollectorRegistry())
    consumer_app = create_consumer_app(
        kafka_settings,
        events,
        event_log=EventLogSettings(group_id=f"log-{topic_name}"),
        metrics_registry=CollectorRegistry(),
        retry=ListenerRetrySettings(attempts=1),
        lag=LagSettings(offset_refresh_s=0.5),
        event_stats=EventStatsSettings(enabled=True),
        streams=StreamsSettings(
            application_id=f"stats-{topic_name}", state_dir=str(tmp_path / "state")
        ),
    )
    async with (
        running(producer_app, "producer") as producer,
        running(consumer_app, "consumer") as consumer,
    ):
        posted = await producer.post("/events", json={"type": "t", "source": "grafana-test"})
        assert posted.status_code == 202, posted.text
        await produce(kafka_settings.bootstrap_servers, topic_name, [b"{not json"])

        async def everything_exported() -> bool:
            exported = await _scrape(producer, consumer)
            outcomes = {s.get("outcome") for s in exported["kafka_listener_records_total"]}
            return {"handled", "dead_lettered"} <= outcomes and bool(
                exported["kafka_consumergroup_lag"] and exported["kafka_streams_state"]
            )

        await wait_until(everything_exported, 90, "handled, dead-lettered, lag and streams")
        exported = await _scrape(producer, consumer)

    dashboard = json.loads(DASHBOARD.read_text())
    asked = 0
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            expr, legend = target["expr"], target.get("legendFormat", "")
            names = metric_names(expr)
            assert names, f"{panel['title']}: no metric in {expr}"
            for name in names:
                assert name in exported, f"{panel['title']}: {name} is not exported"
                labels = set().union(*(s.keys() for s in exported[name]))
                missing = labels_used(expr, legend) - labels
                assert not missing, f"{panel['title']}: {name} has no label {missing}"
                asked += 1
    # Label values the queries match on exist too.
    assert {"outcome": "dead_lettered"}.items() <= next(
        s for s in exported["kafka_listener_records_total"] if s["outcome"] == "dead_lettered"
    ).items()
    assert asked >= 10
