"""Session fixtures: one real Kafka (and one three-node cluster) shared by every test."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.local_kafka import ProvidedKafka, provide_kafka
from shared.settings import ConsumerSettings, KafkaSettings

INTEGRATION_DIR = Path(__file__).parent / "integration"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if INTEGRATION_DIR in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)


def _announce(request: pytest.FixtureRequest, provided: ProvidedKafka, what: str) -> None:
    # Shown even under output capture: the run's log must say which Kafka it used.
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None or capture is None:
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line(
            f"\n[kafka] {what}: {provided.bootstrap_servers} (from {provided.source})"
        )


@pytest.fixture(scope="session")
def kafka(request: pytest.FixtureRequest) -> Iterator[ProvidedKafka]:
    """One broker: KAFKA_BOOTSTRAP_SERVERS → testcontainers → the local launcher."""
    with provide_kafka(1) as provided:
        _announce(request, provided, "single broker")
        yield provided


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka: ProvidedKafka) -> str:
    """The single broker's bootstrap address."""
    return kafka.bootstrap_servers


@pytest.fixture(scope="session")
def kafka_cluster(request: pytest.FixtureRequest) -> Iterator[ProvidedKafka]:
    """Three brokers: KAFKA_CLUSTER_BOOTSTRAP_SERVERS → the local launcher."""
    with provide_kafka(3, env_var="KAFKA_CLUSTER_BOOTSTRAP_SERVERS") as provided:
        _announce(request, provided, "three-node cluster")
        yield provided


@pytest.fixture
def kafka_settings(kafka_bootstrap: str) -> KafkaSettings:
    """Settings pointing at the session's broker."""
    return KafkaSettings(bootstrap_servers=kafka_bootstrap)


@pytest.fixture
def topic_name(request: pytest.FixtureRequest) -> str:
    """A topic name no other test uses (the broker is shared by the session)."""
    name = re.sub(r"[^a-zA-Z0-9._-]", "-", request.node.name[:40])
    return f"{name}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def listener_settings(kafka_bootstrap: str) -> KafkaSettings:
    """Settings whose consumers notice rebalances and stops quickly (short polls, heartbeats)."""
    return KafkaSettings(
        bootstrap_servers=kafka_bootstrap,
        consumer=ConsumerSettings(
            poll_timeout_ms=200,
            heartbeat_interval_ms=300,
            session_timeout_ms=6000,
            shutdown_timeout_s=10,
        ),
    )
