"""A service's typed state: given to service_app, received by routes through state_of."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from kafka_kit import KafkaApp, KafkaSettings
from kafka_kit.web.service import service_app, state_of


@dataclass
class Greeter:
    greeting: str


@dataclass
class Other:
    pass


def _app(state: object) -> FastAPI:
    # The lifespan (which starts the Kafka app) runs only inside `with TestClient(...)`.
    kafka = KafkaApp(KafkaSettings(bootstrap_servers="127.0.0.1:1"))
    web = service_app(kafka, state, title="Greeter", description="says hello")

    @web.get("/hello")
    async def hello(state: Annotated[Greeter, Depends(state_of(Greeter))]) -> str:
        return state.greeting

    return web


def test_a_route_receives_the_state_the_app_was_built_with() -> None:
    web = _app(Greeter("hello"))
    assert TestClient(web).get("/hello").json() == "hello"
    assert web.title == "Greeter"
    assert TestClient(web).get("/docs").status_code == 200  # served offline, by the app


def test_a_state_of_another_kind_is_refused_with_how_to_build_it() -> None:
    with pytest.raises(LookupError, match=r"no Greeter state: build it with service_app"):
        TestClient(_app(Other()), raise_server_exceptions=True).get("/hello")
