"""Fixtures of this project's tests.

The Kafka fixtures (``kafka_broker``, ``kafka_bootstrap_servers``, ``kafka_cluster``,
``kafka_settings``) come from kafka_kit's own pytest plugin, the one users get.
"""

from __future__ import annotations

import os
import re
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kafka_kit.settings import ConsumerSettings, KafkaSettings
from kafka_kit.testing.plugin import say
from scripts import postgres_server
from scripts.jaeger import LocalJaeger
from tests import hang_report

INTEGRATION_DIR = Path(__file__).parent / "integration"

# What services and examples keep in the user's data folder (stream state stores) goes to a
# scratch folder of this run: not the working tree, not the user's own.
os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="kafka-kit-tests-data-")

# Services started by tests keep their events in a scratch file, not in the working tree.
os.environ.setdefault(
    "EVENT_STORE_URL", f"sqlite:///{tempfile.mkdtemp(prefix='kafka-kit-tests-')}/events.db"
)

# The example stream topology joins a consumer group and creates topics: it runs in the tests
# about it (they enable it themselves), not in every consumer app a test builds.
os.environ.setdefault("EVENT_STATS_ENABLED", "false")

# Admin routes are closed while no token is set (the services' default, tested as such in
# test_api_access.py and test_demo.py); the tests of what those routes do open them explicitly.
os.environ.setdefault("API_ADMIN_OPEN", "true")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if INTEGRATION_DIR in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)


def pytest_timeout_set_timer(item: pytest.Item, settings: Any) -> None:
    # None: pytest-timeout still sets its own timer after this.
    hang_report.arm(item, settings.timeout)


def pytest_timeout_cancel_timer(item: pytest.Item) -> None:
    hang_report.disarm(item)


@pytest.fixture
def report(request: pytest.FixtureRequest) -> Callable[[dict[str, object]], None]:
    """Print a test's counts into the run's output, as ``[name] key=value …``."""

    def print_counts(counts: dict[str, object]) -> None:
        figures = " ".join(f"{key}={value}" for key, value in counts.items())
        say(request.config, f"\n[{request.node.name}] {figures}")

    return print_counts


@pytest.fixture
def topic_name(request: pytest.FixtureRequest) -> str:
    """A topic name no other test uses (the broker is shared by the session)."""
    name = re.sub(r"[^a-zA-Z0-9._-]", "-", request.node.name[:40])
    return f"{name}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def listener_settings(kafka_bootstrap_servers: str) -> KafkaSettings:
    """Settings whose consumers notice rebalances and stops quickly (short polls, heartbeats)."""
    return KafkaSettings(
        bootstrap_servers=kafka_bootstrap_servers,
        consumer=ConsumerSettings(
            poll_timeout_ms=200,
            heartbeat_interval_ms=300,
            session_timeout_ms=6000,
            shutdown_timeout_s=10,
        ),
    )


@pytest.fixture(scope="session")
def jaeger(pytestconfig: pytest.Config) -> Iterator[LocalJaeger]:
    """One Jaeger for the session (built from the Go module proxy on first use, then cached)."""
    with LocalJaeger() as backend:
        say(pytestconfig, f"jaeger: OTLP {backend.otlp_endpoint}, query {backend.query_url}")
        yield backend


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """A PostgreSQL DSN: EVENT_STORE_TEST_DSN, or a private server this run starts."""
    configured = os.environ.get("EVENT_STORE_TEST_DSN")
    if configured:
        yield configured
        return
    if not postgres_server.available():
        if os.environ.get("CI"):
            pytest.fail("CI must test PostgreSQL: install the postgresql package")
        pytest.skip("PostgreSQL server programs are not installed here")
    with postgres_server.postgres_server() as dsn:
        yield dsn
