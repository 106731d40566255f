"""Every endpoint of both services documents its parameters and request body, with examples."""

from __future__ import annotations

from typing import Any

import pytest

from consumer_service.app import create_app as create_consumer_app
from kafka_kit import KafkaSettings
from producer_service.app import create_app as create_producer_app

SETTINGS = KafkaSettings(bootstrap_servers="127.0.0.1:1")
SPECS = {
    "producer": create_producer_app(SETTINGS).openapi(),
    "consumer": create_consumer_app(SETTINGS).openapi(),
}
OPERATIONS = [
    (service, method.upper(), path, operation)
    for service, spec in SPECS.items()
    for path, methods in spec["paths"].items()
    for method, operation in methods.items()
]


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    reference = schema.get("$ref")
    if reference is None:
        return schema
    found: dict[str, Any] = spec
    for part in reference.removeprefix("#/").split("/"):
        found = found[part]
    return found


@pytest.mark.parametrize(
    ("service", "method", "path", "operation"),
    OPERATIONS,
    ids=[f"{o[1]} {o[2]}" for o in OPERATIONS],
)
def test_parameters_and_bodies_are_described_with_examples(
    service: str, method: str, path: str, operation: dict[str, Any]
) -> None:
    spec = SPECS[service]
    assert operation.get("summary") and operation.get("description"), "a summary and a description"
    for parameter in operation.get("parameters", []):
        where = f"{parameter['in']} parameter {parameter['name']!r}"
        assert parameter.get("description"), f"{where} has no description"
        schema = parameter.get("schema", {})
        assert "examples" in parameter or "example" in parameter or "examples" in schema, (
            f"{where} has no example"
        )
    body = operation.get("requestBody")
    if body is not None:
        content = body["content"]["application/json"]
        schema = _resolve(spec, content["schema"])
        if schema.get("type") == "array":
            schema = _resolve(spec, schema["items"])
        assert "examples" in content or "example" in content or "examples" in schema, (
            "the request body has no example"
        )
