"""A fast lane for one hot JSON endpoint, beside the FastAPI route that documents it.

A small ``POST`` spends most of its time in the framework, not in its handler: routing, solving
dependencies, validating the body through the route's field, validating and encoding the answer
(``py-spy`` on the producer: the endpoint itself was 11 % of the request). :class:`FastJsonPost`
answers the ordinary case — the exact path, no query string, a JSON body with a length — by
calling one function with the raw body. Anything that function declines (returns ``None``) goes
on to the app with its body intact, so every error is the declared route's own answer, exactly
as documented in the OpenAPI spec.

Put it inside the guards (token, body size): add it to the app before them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["FastJsonPost"]

FastHandler = Callable[[bytes], Awaitable[Response | None]]
"""Takes the raw body; returns the answer, or ``None`` to leave the request to the app."""


class FastJsonPost:
    """ASGI middleware: an ordinary JSON ``POST`` to ``path`` goes straight to ``handler``.

    Args:
        app: The app it wraps.
        path: The route it serves directly.
        handler: Takes the body; returns the response, or ``None`` to leave the request to the
            route.
    """

    def __init__(self, app: ASGIApp, *, path: str, handler: FastHandler) -> None:
        self.app = app
        self.path = path
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Take the fast lane when the request is ordinary and the handler answers it."""
        if not self._ordinary(scope):
            await self.app(scope, receive, send)
            return
        body, rest = await _read_body(receive)
        answer = await self.handler(body) if rest is None else None
        if answer is not None:
            await answer(scope, receive, send)
            return
        await self.app(scope, _replaying(body, rest, receive), send)

    def _ordinary(self, scope: Scope) -> bool:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != self.path:
            return False
        if scope.get("query_string"):
            return False
        content_type = length = None
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value
            elif name == b"content-length":
                length = value
        # A chunked body (no length) is left to the app's body limit.
        return content_type == b"application/json" and length is not None


async def _read_body(receive: Receive) -> tuple[bytes, Message | None]:
    """The whole body; or what came before a message that is not body (a disconnect)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), message
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), None


def _replaying(body: bytes, rest: Message | None, receive: Receive) -> Receive:
    """``receive`` for the app: the body already read, then whatever comes next."""
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]
    if rest is not None:
        pending.append(rest)

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return replay
