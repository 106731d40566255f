"""Request guards: a body size limit (413) and a JSON content type (415)."""

from __future__ import annotations

from fastapi import HTTPException, Request, status
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kafka_kit.errors import KafkaKitError

__all__ = ["BodySizeLimitMiddleware", "BodyTooLargeError", "require_json"]


JSON_MEDIA_TYPES = ("application/json",)


class BodyTooLargeError(KafkaKitError, HTTPException):
    """The request body is larger than the service accepts (FastAPI answers it with a 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            status.HTTP_413_CONTENT_TOO_LARGE,
            detail=f"request body larger than {limit} bytes",
        )


class BodySizeLimitMiddleware:
    """Answers 413 for bodies over ``max_bytes``, by Content-Length or while streaming.

    Args:
        app: The app it wraps.
        max_bytes: The largest body accepted.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, counting its body."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await self._reject(send)
                return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # Raised inside the body read: FastAPI turns it into the 413 response.
                    raise BodyTooLargeError(self.max_bytes)
            return message

        await self.app(scope, limited_receive, send)

    async def _reject(self, send: Send) -> None:
        body = f'{{"detail":"request body larger than {self.max_bytes} bytes"}}'.encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


async def require_json(request: Request) -> None:
    """Dependency: 415 unless the body is declared as JSON (``application/json`` or ``+json``).

    Args:
        request: The request.
    """
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type in JSON_MEDIA_TYPES or media_type.endswith("+json"):
        return
    raise HTTPException(
        status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
        detail=f"content type {media_type or '(none)'!r} is not supported: send application/json",
    )
