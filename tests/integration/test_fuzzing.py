"""Both services fuzzed from their own OpenAPI specs (schemathesis): what they answer is what the
specs say — every status code documented, every body in its schema, never a 500.

Fixed seed (``derandomize``) and bounded examples, so CI runs are repeatable and short.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import Case
from schemathesis.specs.openapi.schemas import OpenApiSchema as BaseOpenAPISchema

from kafka_kit.local_kafka.cluster import free_ports
from tests.app_helpers import service_process, wait_healthy

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))


def _serve(module: str, env: dict[str, str]) -> Iterator[str]:
    (port,) = free_ports(1)
    # Its output is not kept: fuzzed for minutes, it logs more than a pipe holds.
    server = service_process(module, port, env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(server, base, 120)
        yield base
    finally:
        server.terminate()
        server.communicate(timeout=60)


def _env(bootstrap: str, tmp: Path) -> dict[str, str]:
    return {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "EVENTS_TOPIC": "fuzzed-events",
        "EVENTS_PARTITIONS": "1",
        "EVENT_STORE_URL": f"sqlite:///{tmp}/events.db",
        "PRODUCER_ALLOWED_TOPICS": "fuzzed-audit",
        "LAG_OFFSET_REFRESH_S": "1",
    }


def _schema(module: str, bootstrap: str, tmp: Path) -> Iterator[BaseOpenAPISchema]:
    for base in _serve(module, _env(bootstrap, tmp)):
        yield schemathesis.openapi.from_url(f"{base}/openapi.json")


@pytest.fixture(scope="module")
def producer_schema(
    kafka_bootstrap_servers: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BaseOpenAPISchema]:
    yield from _schema("producer_service.main", kafka_bootstrap_servers,
                       tmp_path_factory.mktemp("producer"))  # fmt: skip


@pytest.fixture(scope="module")
def consumer_schema(
    kafka_bootstrap_servers: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BaseOpenAPISchema]:
    yield from _schema("consumer_service.main", kafka_bootstrap_servers,
                       tmp_path_factory.mktemp("consumer"))  # fmt: skip


FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


def fuzz(schema: BaseOpenAPISchema) -> list[str]:
    """Every operation of ``schema``, fuzzed; what failed, one line each (with the reproduction)."""
    failures = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 5
    for operation in operations:

        @FUZZ
        @given(case=operation.as_strategy())
        def check(case: Case) -> None:
            case.call_and_validate()

        try:
            check()
        except Exception as exc:  # noqa: BLE001 - collected, reported together
            failures.append(f"{operation.label}: {str(exc)[:1500]}")
    return failures


def test_the_producer_answers_as_its_spec_says(producer_schema: BaseOpenAPISchema) -> None:
    failures = fuzz(producer_schema)
    assert not failures, "\n\n".join(failures)


def test_the_consumer_answers_as_its_spec_says(consumer_schema: BaseOpenAPISchema) -> None:
    failures = fuzz(consumer_schema)
    assert not failures, "\n\n".join(failures)
