"""What every service built on ``kafka_kit.web`` shares: its settings, its app, its typed state.

.. code-block:: python

    @dataclass
    class State:
        template: KafkaTemplate

    def create_app() -> FastAPI:
        kafka = KafkaApp()
        web = service_app(kafka, State(kafka.template), title="Greeter", description="…")
        web.include_router(router)
        return web

    @router.post("/greetings")
    async def greet(name: str, state: Annotated[State, Depends(state_of(State))]) -> None:
        await state.template.send("greetings", name)

    app = service_main([KafkaSettings], create_app)  # what ``uvicorn greeter:app`` imports
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from typing import TYPE_CHECKING, TypeVar

from fastapi import FastAPI, Request
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from kafka_kit._internal.client_logs import condense_client_logs
from kafka_kit.app import KafkaApp
from kafka_kit.asyncapi import asyncapi_document
from kafka_kit.settings import exit_if_invalid
from kafka_kit.web.asyncapi import install_asyncapi
from kafka_kit.web.basics import service_basics
from kafka_kit.web.gc_tuning import GcSettings, tuned_garbage_collector
from kafka_kit.web.kafka_app import include_listeners

if TYPE_CHECKING:
    from kafka_kit.tracing.service import ServiceTracing

__all__ = ["ServiceSettings", "service_app", "service_main", "state_of"]

State = TypeVar("State")

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class ServiceSettings(BaseSettings):
    """Settings every service built on ``kafka_kit.web`` shares (env ``SERVICE_*``)."""

    model_config = SettingsConfigDict(env_prefix="SERVICE_", extra="ignore")

    instance_id: str | None = Field(
        default=None,
        description="shown as `instance` in `GET /health`: whoever started the service can tell "
        "it from another process on the same port",
    )

    def health(self, status: str, **details: object) -> dict[str, object]:
        """A ``/health`` body: ``status``, ``details``, and ``instance`` when one is set.

        Args:
            status: ``UP``, ``DOWN``, ``RESTARTING``…
            details: More fields of the body (``listeners``, ``kafka``…).
        """
        body: dict[str, object] = {"status": status, **details}
        if self.instance_id is not None:
            body["instance"] = self.instance_id
        return body


def service_app(
    kafka: KafkaApp,
    state: object,
    *,
    title: str,
    description: str,
    gc: GcSettings | None = None,
    tracing: ServiceTracing | None = None,
) -> FastAPI:
    """The FastAPI app of a service on ``kafka``.

    Args:
        kafka: Runs for as long as the web app serves (topics, template, listeners).
        state: The service's one typed state object; routes receive it with
            ``Depends(state_of(type(state)))``.
        title: The OpenAPI title.
        description: The OpenAPI description.
        gc: How the garbage collector is tuned while the app serves (``GC_*`` by default).
        tracing: Traces the requests and puts trace ids on log lines
            (:func:`kafka_kit.tracing.service.tracing_for`); give ``kafka`` its ``tracing.kafka``.

    The API docs are served by the service itself (``/docs``, ``/redoc``, no CDN; the topics'
    AsyncAPI document at ``/asyncapi.json``, readable at ``/asyncapi``), a bad body is
    answered ``422`` with strict-JSON reasons, and a start that fails with a kit error is one line
    in the server's log.
    """

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        with tuned_garbage_collector(gc):
            yield

    web = FastAPI(
        title=title, description=description, lifespan=lifespan, docs_url=None, redoc_url=None
    )
    include_listeners(web, kafka)
    service_basics(web)
    install_asyncapi(
        web,
        lambda: asyncapi_document(kafka, title=title, version=web.version, description=description),
    )
    web.state.service_state = state
    if tracing is not None:
        tracing.install(web, kafka)
    return web


def state_of(kind: type[State]) -> Callable[[Request], State]:
    """A FastAPI dependency that gives a route its service's typed state.

    Args:
        kind: The state's class, as given to :func:`service_app`.
    """

    def service_state(request: Request) -> State:
        state = getattr(request.app.state, "service_state", None)
        if not isinstance(state, kind):
            raise LookupError(
                f"this web app has no {kind.__name__} state: build it with service_app(kafka, "
                f"{kind.__name__}(...), ...)"
            )
        return state

    return service_state


def service_main(
    settings: Iterable[type[BaseSettings]], create_app: Callable[[], FastAPI]
) -> FastAPI:
    """What ``uvicorn service.main:app`` imports: the app, built once the environment is checked.

    Args:
        settings: Every settings class the service reads; a bad variable ends the start here,
            one line each naming it, exit status 2 (not a traceback at import).
        create_app: Builds the app (reading the environment).

    Logs go to standard error at ``INFO``; aiokafka's reconnect noise while a broker is away is
    condensed to one line per minute and kind, not forty a second.
    """
    exit_if_invalid(*settings)
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    condense_client_logs()
    return create_app()
