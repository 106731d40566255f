"""/docs and /redoc of both services load every asset from the service itself, none from a CDN."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI

from consumer_service.app import create_app as create_consumer_app
from kafka_kit import KafkaSettings
from producer_service.app import create_app as create_producer_app

APPS: dict[str, Callable[[], FastAPI]] = {
    "producer": lambda: create_producer_app(KafkaSettings(bootstrap_servers="127.0.0.1:1")),
    "consumer": lambda: create_consumer_app(KafkaSettings(bootstrap_servers="127.0.0.1:1")),
}
REFERENCE = re.compile(r"""(?:src|href|spec-url)\s*=\s*["']([^"']+)["']|url:\s*'([^']+)'""")


@pytest.mark.parametrize("service", sorted(APPS))
@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_every_asset_of_the_docs_comes_from_the_service(service: str, page: str) -> None:
    # In-process: no lifespan (no Kafka needed) and no network at all.
    transport = httpx.ASGITransport(app=APPS[service]())
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        html = await client.get(page)
        assert html.status_code == 200
        references = [a or b for a, b in REFERENCE.findall(html.text)]
        assert len(references) >= 3  # script, style or favicon, and the OpenAPI document
        for reference in references:
            assert reference.startswith("/"), f"{page} loads {reference} from elsewhere"
            asset = await client.get(reference)
            assert asset.status_code == 200, reference
            assert len(asset.content) > 1000 or reference.endswith(".json"), reference
        assert "fonts.googleapis" not in html.text and "cdn.jsdelivr" not in html.text
        assert (await client.get("/openapi.json")).json()["info"]["title"]
