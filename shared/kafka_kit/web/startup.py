"""A service whose start fails for a reason the kit explains says it in one line.

Starlette hands a failed lifespan to the server as the whole traceback, which uvicorn prints: an
ACL the principal lacks, or a cluster nobody answers for, came out as 33 to 58 lines ending in
the one that matters. For a :class:`~kafka_kit.errors.KafkaKitError` the server is given that
line alone (what failed and what to do); any other failure keeps its traceback.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kafka_kit.errors import KafkaKitError

__all__ = ["explain_startup_failures"]


class _OneLine:
    """ASGI middleware: a lifespan failure the kit explains goes to the server as its line."""

    def __init__(self, app: ASGIApp, failures: list[KafkaKitError]) -> None:
        self.app = app
        self.failures = failures

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "lifespan.startup.failed" and self.failures:
                failure = self.failures[-1]
                message = {**message, "message": f"{type(failure).__name__}: {failure}"}
            await send(message)

        await self.app(scope, receive, sending)


def explain_startup_failures(app: FastAPI) -> None:
    """Make a start that fails with a kit error one line in the server's log.

    Args:
        app: The service's app.
    """
    failures: list[KafkaKitError] = []
    serving = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(started: Any) -> AsyncIterator[Any]:
        entered = False
        try:
            async with serving(started) as state:
                entered = True
                yield state
        except KafkaKitError as exc:
            if not entered:
                failures.append(exc)
            raise

    app.router.lifespan_context = lifespan
    app.add_middleware(_OneLine, failures=failures)
