"""Which methods a path serves, by the app's own OpenAPI spec: the ``Allow`` header of a 405.

Starlette answers a method a path does not serve with 405 and ``Allow`` — but names only the
methods of the first route whose path matched, while FastAPI makes one route per method: ``GET``
and ``PUT`` on ``/connectors/{name}`` answered ``Allow: GET``. :class:`AllowHeader` names every
method the spec declares for the path, as RFC 9110 asks and as clients read the spec.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["AllowHeader", "MethodTable"]

_HTTP_METHODS = frozenset({"GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"})


class MethodTable:
    """Path templates of a spec and their methods, built on first use (the spec is lazy).

    Args:
        spec: Returns the OpenAPI spec (asked on first use).
    """

    def __init__(self, spec: Callable[[], dict[str, Any]]) -> None:
        self.spec = spec
        self._table: list[tuple[re.Pattern[str], frozenset[str]]] | None = None

    def _entries(self) -> list[tuple[re.Pattern[str], frozenset[str]]]:
        if self._table is None:
            self._table = [
                (
                    re.compile(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))),
                    frozenset(m.upper() for m in operations if m.upper() in _HTTP_METHODS),
                )
                for template, operations in self.spec().get("paths", {}).items()
            ]
        return self._table

    def allowed(self, path: str) -> frozenset[str] | None:
        """The methods the spec declares for ``path``; ``None`` when it declares no such path.

        Args:
            path: A request's path.
        """
        found: set[str] = set()
        matched = False
        for pattern, methods in self._entries():
            if pattern.fullmatch(path):
                matched = True
                found |= methods
        return frozenset(found) if matched else None

    def unserved(self, method: str, path: str) -> bool:
        """Whether the spec declares ``path`` but not ``method`` on it (a 405, whoever asks).

        Args:
            method: The request's method.
            path: The request's path.
        """
        allowed = self.allowed(path)
        return allowed is not None and method not in allowed


class AllowHeader:
    """ASGI middleware: a 405 names every method the spec declares for the path in ``Allow``.

    Args:
        app: The app it wraps.
        table: The methods each path serves.
    """

    def __init__(self, app: ASGIApp, table: MethodTable) -> None:
        self.app = app
        self.table = table

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; complete the ``Allow`` header of a 405 answer."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_allow(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405:
                allowed = self.table.allowed(scope["path"])
                if allowed is not None:
                    MutableHeaders(scope=message)["allow"] = ", ".join(sorted(allowed))
            await send(message)

        await self.app(scope, receive, send_with_allow)
