"""A method a path does not serve is 405 with an ``Allow`` header naming exactly what it serves.

RFC 9110 asks for ``Allow`` on every 405; the OpenAPI spec is what it must agree with. Routing
alone cannot give it when a path's methods are separate routes (Starlette names only the first
route's), so both services complete it.
"""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI

from consumer_service.app import create_app as create_consumer_app
from kafka_kit import KafkaSettings
from kafka_kit.web.auth import ApiTokens
from producer_service.app import create_app as create_producer_app

SETTINGS = KafkaSettings(bootstrap_servers="127.0.0.1:1")
APPS = {
    "producer": lambda tokens: create_producer_app(SETTINGS, tokens=tokens),
    "consumer": lambda tokens: create_consumer_app(SETTINGS, tokens=tokens),
}
PATHS = [
    (service, path, sorted(m.upper() for m in methods))
    for service, build in APPS.items()
    for path, methods in build(ApiTokens()).openapi()["paths"].items()
]


def _concrete(template: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", template)


def _allowed(response: httpx.Response) -> set[str]:
    return {m.strip() for m in response.headers.get("allow", "").split(",") if m.strip()}


@pytest.mark.parametrize("tokens", ["none", "set"])
@pytest.mark.parametrize(
    ("service", "path", "declared"), PATHS, ids=[f"{s} {p}" for s, p, _ in PATHS]
)
async def test_an_unserved_method_is_405_with_the_declared_methods(
    service: str, path: str, declared: list[str], tokens: str
) -> None:
    configured = ApiTokens(admin_token="a" * 24 if tokens == "set" else None)
    app: FastAPI = APPS[service](configured)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        for method in ("OPTIONS", "TRACE", *({"PATCH", "PUT", "DELETE"} - set(declared))):
            answer = await client.request(method, _concrete(path))
            assert answer.status_code == 405, f"{method} {path}: {answer.status_code}"
            assert _allowed(answer) - {"HEAD"} == set(declared), answer.headers
