"""Bearer tokens on both services: every route is open, read or admin — none by accident."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from consumer_service.app import create_app as create_consumer_app
from event_contract.events import EventsTopicSettings
from kafka_kit.registry import ListenerRegistry
from kafka_kit.settings import KafkaSettings
from kafka_kit.web.auth import ApiTokens
from producer_service.app import create_app as create_producer_app
from tests.app_helpers import running

READ, ADMIN = "reader-token", "admin-token"
TOKENS = ApiTokens(read_token=SecretStr(READ), admin_token=SecretStr(ADMIN))
OPEN = {("GET", "/health"), ("GET", "/metrics"), ("GET", "/openapi.json"), ("GET", "/docs"),
        ("GET", "/redoc")}  # fmt: skip
# What only reads, per service; every other operation must be the admin token's.
READS = {
    "consumer": {"/listeners", "/listeners/{listener_id}", "/events", "/events/recent",
                 "/events/stats", "/events/{event_id}", "/dlt/{topic}", "/cluster",
                 "/lag/{group}", "/v3/kafka", "/v3/kafka/{cluster}", "/v3/kafka/{cluster}/topic",
                 "/v3/kafka/{cluster}/topic/{topic}", "/v3/kafka/{cluster}/topic/{topic}/consumers",
                 "/v3/kafka/{cluster}/consumer", "/v3/kafka/{cluster}/consumer/{group}",
                 "/v3/kafka/{cluster}/consumer/{group}/status",
                 "/v3/kafka/{cluster}/consumer/{group}/lag", "/streams", "/streams/keys/{key}",
                 "/streams/types/{event_type}", "/connect/connectors", "/connect/connectors/{name}",
                 "/connect/connectors/{name}/offsets", "/orders/changes", "/work"},
    "producer": {"/outbox"},
}  # fmt: skip


def apps(settings: KafkaSettings, topic: str, tokens: ApiTokens) -> dict[str, FastAPI]:
    events = EventsTopicSettings(topic=topic, partitions=1)
    return {
        "consumer": create_consumer_app(settings, events, ListenerRegistry(), tokens=tokens),
        "producer": create_producer_app(settings, events, tokens=tokens),
    }


def operations(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path template) the app serves, from its own OpenAPI spec."""
    app.openapi_schema = None
    spec = app.openapi()
    return [(m.upper(), path) for path, ops in spec["paths"].items() for m in ops]


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "no-such-thing", path)


async def request(
    client: httpx.AsyncClient, method: str, path: str, token: str | None = None
) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    body: Any = {} if method == "POST" else None
    return await client.request(method, concrete(path), json=body, headers=headers)


async def call(client: httpx.AsyncClient, method: str, path: str, token: str | None) -> int:
    return (await request(client, method, path, token)).status_code


@pytest.mark.parametrize("service", ["consumer", "producer"])
async def test_every_route_is_open_read_or_admin_and_enforced(
    service: str, listener_settings: KafkaSettings, topic_name: str
) -> None:
    app = apps(listener_settings, topic_name, TOKENS)[service]
    found = operations(app)
    assert len(found) >= 5
    async with running(app, service) as client:
        for method, path in found:
            without = await call(client, method, path, None)
            reader = await call(client, method, path, READ)
            admin = await call(client, method, path, ADMIN)
            wrong = await call(client, method, path, "not-a-token")
            where = f"{method} {path}"
            assert admin not in (401, 403), where
            if (method, path) in OPEN:
                assert without not in (401, 403), f"{where} should be open"
            elif path in READS[service] and method == "GET":
                assert (without, wrong) == (401, 401), where
                assert reader not in (401, 403), where
            else:
                assert (without, wrong, reader) == (401, 401, 403), where


async def test_no_body_is_read_without_a_valid_token(
    listener_settings: KafkaSettings, topic_name: str
) -> None:
    app = apps(listener_settings, topic_name, TOKENS)["producer"]
    async with running(app, "producer") as client:
        broken = await client.post(
            "/events", content=b"{not json", headers={"content-type": "application/json"}
        )
    assert broken.status_code == 401  # not 422: who asks is checked first
    assert broken.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("service", ["consumer", "producer"])
async def test_the_spec_declares_security_exactly_where_it_is_enforced(
    service: str, listener_settings: KafkaSettings, topic_name: str
) -> None:
    secured = apps(listener_settings, topic_name, TOKENS)[service]
    spec = secured.openapi()
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    for path, ops in spec["paths"].items():
        for method, operation in ops.items():
            guarded = (method.upper(), path) not in OPEN
            assert ("security" in operation) is guarded, f"{method} {path}"
            if guarded:
                assert "401" in operation["responses"]
    plain = apps(listener_settings, topic_name, ApiTokens())[service].openapi()
    assert "securitySchemes" not in plain.get("components", {})
    assert not any("security" in op for ops in plain["paths"].values() for op in ops.values())


async def test_the_console_takes_the_token_from_its_login_cookie_and_guards_changes(
    listener_settings: KafkaSettings, topic_name: str
) -> None:
    app = apps(listener_settings, topic_name, TOKENS)["consumer"]
    async with running(app, "consumer") as client:
        # A page without a session goes to the login form; the form and the assets are open.
        page = await client.get("/console/cluster")
        assert (page.status_code, page.headers["location"]) == (
            303,
            "/console/login?next=/console/cluster",
        )
        assert (await client.get("/console/login")).status_code == 200
        assert (await client.get("/console/static/console.js")).status_code == 200
        refused = await client.post("/console/login", data={"token": "nope"})
        assert refused.status_code == 401
        assert "set-cookie" not in refused.headers

        # Never a redirect off the console: `next` elsewhere lands on the cluster page.
        login = await client.post(
            "/console/login", data={"token": ADMIN, "next": "https://elsewhere.example/"}
        )
        assert (login.status_code, login.headers["location"]) == (303, "/console/cluster")
        cookie = login.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        assert client.cookies.get("kafka_kit_console") == ADMIN

        shown = await client.get("/console/cluster")
        assert shown.status_code == 200
        assert "default-src 'self'" in shown.headers["content-security-policy"]
        assert listener_settings.bootstrap_servers.split(":")[-1] in shown.text
        assert (await client.get("/listeners")).status_code == 200
        # A change by cookie needs the console's header (a cross-site form cannot send it).
        assert (await client.post("/listeners/none/pause")).status_code == 401
        marked = {"X-Console-Request": "1"}
        assert (await client.post("/listeners/none/pause", headers=marked)).status_code == 404

        client.cookies.set("kafka_kit_console", READ)
        assert (await client.get("/console/groups")).status_code == 200
        assert (await client.post("/listeners/none/pause", headers=marked)).status_code == 403

        out = await client.post("/console/logout")
        assert (out.status_code, out.headers["location"]) == (303, "/console/login")
        assert out.headers["set-cookie"].startswith('kafka_kit_console=""; ')
    assert "max-age=0" in out.headers["set-cookie"].lower()


CLOSED = ApiTokens(admin_open=False)


@pytest.mark.parametrize("service", ["consumer", "producer"])
async def test_without_a_token_admin_routes_are_closed_and_say_what_to_set(
    service: str, listener_settings: KafkaSettings, topic_name: str
) -> None:
    app = apps(listener_settings, topic_name, CLOSED)[service]
    found = operations(app)
    async with running(app, service) as client:
        for method, path in found:
            answer = await request(client, method, path)
            where = f"{method} {path}"
            writes_events = service == "producer" and method == "POST"
            if (method, path) in OPEN or method == "GET" or writes_events:
                assert answer.status_code != 403, where  # reads and the events API stay open
                continue
            assert answer.status_code == 403, where
            assert "API_ADMIN_TOKEN" in answer.json()["detail"], where
            assert "API_ADMIN_OPEN" in answer.json()["detail"], where
    spec = app.openapi()
    closed = [
        (m, p)
        for p, ops in spec["paths"].items()
        for m, op in ops.items()
        if "Closed" in op["responses"].get("403", {}).get("description", "")
    ]
    assert (len(closed) >= 15) is (service == "consumer"), closed
    assert "securitySchemes" not in spec.get("components", {})


async def test_the_start_up_log_says_which_routes_are_open(
    listener_settings: KafkaSettings, topic_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = apps(listener_settings, topic_name, CLOSED)["consumer"]
    with caplog.at_level("INFO", logger="kafka_kit.web.auth"):
        async with running(app, "consumer"):
            pass
    (line,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("access:")]
    assert "read routes open to anyone" in line
    assert "admin routes closed (403) until API_ADMIN_TOKEN is set" in line
    assert "POST /listeners/{listener_id}/pause" in line


async def test_the_admin_token_can_come_from_a_file(
    listener_settings: KafkaSettings, topic_name: str, tmp_path: Path
) -> None:
    secret = tmp_path / "admin-token"
    secret.write_text("from-a-file\n")
    tokens = ApiTokens(admin_token_file=secret, read_open=True)
    app = apps(listener_settings, topic_name, tokens)["consumer"]
    async with running(app, "consumer") as client:
        assert (await client.get("/listeners")).status_code == 200  # reads open
        page = await client.get("/console/cluster")  # no login needed to look, offered to change
        assert page.status_code == 200 and 'id="login-link"' in page.text
        assert (await client.post("/listeners/none/pause")).status_code == 401
        mine = {"authorization": "Bearer from-a-file"}
        assert (await client.post("/listeners/none/pause", headers=mine)).status_code == 404
    with pytest.raises(ValueError, match="cannot be read"):
        ApiTokens(admin_token_file=tmp_path / "missing")
