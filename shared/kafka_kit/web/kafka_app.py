"""A :class:`~kafka_kit.KafkaApp` inside a FastAPI app: listeners run with the routes, and routes
get the app's template injected.

.. code-block:: python

    kafka = KafkaApp()
    web = FastAPI()
    include_listeners(web, kafka)

    @web.post("/greetings")
    async def greet(name: str, template: Template) -> None:
        await template.send("greetings", name)

The Kafka app starts before the web app's own lifespan start-up and stops after its shut-down, so
routes and start-up code can send; ``FastAPI(lifespan=kafka.lifespan)`` does the same for a web
app without a lifespan of its own.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request

from kafka_kit.app import KafkaApp
from kafka_kit.template import KafkaTemplate

__all__ = ["KafkaAppDep", "Template", "include_listeners", "kafka_app_of", "template_of"]


def include_listeners(web_app: FastAPI, kafka_app: KafkaApp) -> None:
    """Run ``kafka_app`` (listeners, template, topics) for as long as ``web_app`` serves.

    Args:
        web_app: The FastAPI app.
        kafka_app: Starts before the web app's own start-up and stops after its shut-down.
    """
    serving = web_app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(started: Any) -> AsyncIterator[Any]:
        async with kafka_app, serving(started) as state:
            yield {**(state or {}), "kafka_app": kafka_app}

    web_app.router.lifespan_context = lifespan
    web_app.state.kafka_app = kafka_app


def kafka_app_of(request: Request) -> KafkaApp:
    """The Kafka app serving beside this request's web app.

    Args:
        request: The request.
    """
    app = getattr(request.state, "kafka_app", None) or getattr(request.app.state, "kafka_app", None)
    if not isinstance(app, KafkaApp):
        raise LookupError(
            "no KafkaApp runs with this web app: include_listeners(web_app, kafka_app) or "
            "FastAPI(lifespan=kafka_app.lifespan)"
        )
    return app


def template_of(request: Request) -> KafkaTemplate:
    """The Kafka app's template, for ``Depends``.

    Args:
        request: The request.
    """
    return kafka_app_of(request).template


KafkaAppDep = Annotated[KafkaApp, Depends(kafka_app_of)]
"""A route parameter that receives the Kafka app."""
Template = Annotated[KafkaTemplate, Depends(template_of)]
"""A route parameter that receives the Kafka app's template: ``template: Template``."""
