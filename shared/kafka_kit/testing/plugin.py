"""The pytest plugin: a real Kafka per test session (Spring's ``@EmbeddedKafka``, for pytest).

Registered through the ``pytest11`` entry point, so installing kafka-kit[testing] is enough.
Fixtures:

- ``kafka_broker`` / ``kafka_bootstrap_servers``: one broker — ``KAFKA_BOOTSTRAP_SERVERS`` if
  set, else a testcontainers ``apache/kafka`` container when a Docker daemon answers, else the
  launcher (Kafka from Maven Central, Java 17+, KRaft).
- ``kafka_cluster``: three brokers — ``KAFKA_CLUSTER_BOOTSTRAP_SERVERS`` if set, else the
  launcher; when the plugin started it, ``kafka_cluster.cluster`` can stop and restart nodes.
- ``kafka_settings``: :class:`~kafka_kit.KafkaSettings` for the single broker.

Each cluster is started at most once per session, only when a test asks for it, and stopped at
the end: a session whose tests use none of them starts nothing.
"""

from __future__ import annotations

from collections.abc import Iterator

from kafka_kit._extras import requires_extra

with requires_extra("testing", __name__):
    import pytest

from kafka_kit.settings import KafkaSettings
from kafka_kit.testing.provider import ProvidedKafka, provide_kafka

__all__ = ["kafka_bootstrap_servers", "kafka_broker", "kafka_cluster", "kafka_settings", "say"]


def say(config: pytest.Config, line: str) -> None:
    """Print ``line`` into the run's output, even under output capture.

    Args:
        config: The run's pytest config.
        line: What to print.
    """
    capture = config.pluginmanager.get_plugin("capturemanager")
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None or capture is None:
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line(line)


def _announce(config: pytest.Config, what: str, provided: ProvidedKafka) -> None:
    say(config, f"\n[kafka] {what}: {provided.bootstrap_servers} (from {provided.source})")


@pytest.fixture(scope="session")
def kafka_broker(request: pytest.FixtureRequest) -> Iterator[ProvidedKafka]:
    """One broker for the session: KAFKA_BOOTSTRAP_SERVERS → testcontainers → the launcher."""
    with provide_kafka(1) as provided:
        _announce(request.config, "single broker", provided)
        yield provided


@pytest.fixture(scope="session")
def kafka_bootstrap_servers(kafka_broker: ProvidedKafka) -> str:
    """The single broker's bootstrap address, ``host:port``."""
    return kafka_broker.bootstrap_servers


@pytest.fixture(scope="session")
def kafka_cluster(request: pytest.FixtureRequest) -> Iterator[ProvidedKafka]:
    """Three brokers for the session: KAFKA_CLUSTER_BOOTSTRAP_SERVERS → the launcher."""
    with provide_kafka(3, env_var="KAFKA_CLUSTER_BOOTSTRAP_SERVERS") as provided:
        _announce(request.config, "three-node cluster", provided)
        yield provided


@pytest.fixture
def kafka_settings(kafka_bootstrap_servers: str) -> KafkaSettings:
    """Settings pointing at the session's single broker (everything else from the environment)."""
    return KafkaSettings(bootstrap_servers=kafka_bootstrap_servers)
