"""Bearer tokens for the services' endpoints: read, write and admin scopes, default-deny.

``AccessGuard`` is ASGI middleware: it answers before routing and before any body is read, so a
request without a valid token gets ``401`` whatever its body (malformed JSON included), and a read
token on an admin endpoint gets ``403``. Which endpoints are open (health, metrics, docs), which
need the read scope, which write (a service's own business, such as posting events) and which the
admin scope is one table per service; an endpoint the table does not name needs the admin scope,
so a new route is never open by accident.

With no token configured, reads and writes are open — and admin endpoints (everything that
controls the service: pausing listeners, seeks, replays, connectors) are **closed**: ``403`` with
the variable to set, as Spring Boot's Actuator exposes only health until told otherwise.
``API_ADMIN_OPEN=true`` opens them without a token (a private network); a token opens them to
whoever holds it. A method the spec does not declare for a path passes to the router (its
``405``): there is nothing to protect.

A browser cannot send a bearer token when it follows a link, so pages (the console) may take the
token from a :class:`SessionCookie` instead, set by their login form. A cookie travels with every
request the browser makes, so it admits a change (any method but GET) only together with the
``X-Console-Request`` header — a header a form or script on another site cannot add (no CORS
here), which keeps cross-site request forgery out. A page asked for without a valid cookie is
redirected to the login form.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

from fastapi import FastAPI
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Receive, Scope, Send

from kafka_kit.web.access import (
    CLOSED_ADMIN,
    OPEN_PATHS,
    AccessRule,
    AccessScope,
    ApiTokens,
    rules,
    scope_for,
    secret_bytes,
    token_matches,
)
from kafka_kit.web.access_spec import describe_access, secure_openapi
from kafka_kit.web.methods import AllowHeader, MethodTable

# The tokens, the rules and their spec are declared beside it (kafka_kit.web.access,
# kafka_kit.web.access_spec) and exported here too, where a service looks for them.
__all__ = [
    "CLOSED_ADMIN",
    "CONSOLE_REQUEST_HEADER",
    "OPEN_PATHS",
    "AccessGuard",
    "AccessRule",
    "AccessScope",
    "ApiTokens",
    "SessionCookie",
    "describe_access",
    "install_access",
    "rules",
    "scope_for",
    "secure_openapi",
]

log = logging.getLogger(__name__)

CONSOLE_REQUEST_HEADER = "X-Console-Request"
"""Sent by the console's own scripts with every change: what a cookie needs to admit one."""


@dataclass(frozen=True)
class SessionCookie:
    """The cookie a login form sets for pages a browser navigates (``pages``, a path regex)."""

    name: str = "kafka_kit_console"
    """The cookie's name."""
    login_path: str = "/console/login"
    """Where the login form is (pages redirect there)."""
    pages: str = r"/console(/.*)?"
    """A path regex: the pages that take the cookie."""


class AccessGuard:
    """ASGI middleware enforcing :class:`ApiTokens` by a table of :class:`AccessRule`.

    ``methods`` (the app's spec): a method the path does not serve is passed on for its ``405``
    instead of being refused — there is nothing to protect.

    Args:
        app: The app it guards.
        tokens: The configured tokens.
        rules: Which paths need which scope (unnamed paths: admin).
        session: The console's cookie, for pages a browser navigates.
        methods: The methods each path serves (from the spec).
    """

    def __init__(
        self,
        app: ASGIApp,
        tokens: ApiTokens,
        rules: Sequence[AccessRule],
        session: SessionCookie | None = None,
        methods: MethodTable | None = None,
    ) -> None:
        self.app = app
        self.rules = tuple(rules)
        self.read = secret_bytes(tokens.read_token)
        self.admin = secret_bytes(tokens.admin_token)
        self.tokens = tokens
        # Nothing is ever refused: every request passes at once.
        self.idle = all(tokens.requirement(s) == "none" for s in ("read", "write", "admin"))
        self.session = session
        self.methods = methods
        # Per (method, path), bounded: asked on every request, hot paths included.
        self._needs = functools.lru_cache(maxsize=4096)(self._requirement)

    def _requirement(
        self, method: str, path: str
    ) -> tuple[AccessScope, Literal["none", "token", "closed"]]:
        needed = scope_for(self.rules, method, path)
        return needed, self.tokens.requirement(needed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer 401/403 for a request the tokens do not admit; pass the rest on."""
        if scope["type"] != "http" or self.idle:
            await self.app(scope, receive, send)
            return
        needed, requirement = self._needs(scope["method"], scope["path"])
        if requirement == "none" or not self._routed(scope):
            # Unrouted: its 405 is answered by the router; there is nothing here to protect.
            await self.app(scope, receive, send)
            return
        if requirement == "closed":
            await _answer(send, 403, CLOSED_ADMIN)
            return
        given = _bearer(scope) or self._from_cookie(scope)
        # Compare with both tokens every time: the time taken says nothing about either.
        is_admin = token_matches(given, self.admin)
        is_reader = token_matches(given, self.read)
        if is_admin or (needed == "read" and is_reader):
            await self.app(scope, receive, send)
            return
        if is_reader:
            await _answer(send, 403, f"this token may read but not change: {needed} scope needed")
            return
        session = self.session
        if (
            session is not None
            and scope["method"] in _SAFE
            and re.fullmatch(session.pages, scope["path"])
        ):
            await _redirect(send, f"{session.login_path}?next={quote(scope['path'])}")
            return
        await _answer(send, 401, "a valid bearer token is required", bearer=True)

    def _routed(self, scope: Scope) -> bool:
        return self.methods is None or not self.methods.unserved(scope["method"], scope["path"])

    def _from_cookie(self, scope: Scope) -> bytes:
        if self.session is None:
            return b""
        headers = dict(scope.get("headers", ()))
        cookie = headers.get(b"cookie")
        if cookie is None:
            return b""
        if scope["method"] not in _SAFE and _CONSOLE_REQUEST not in headers:
            return b""
        return cookie_parser(cookie.decode("latin-1")).get(self.session.name, "").encode()


def install_access(
    app: FastAPI,
    tokens: ApiTokens,
    rules: Sequence[AccessRule],
    session: SessionCookie | None = None,
) -> None:
    """The guard as the app's outermost middleware, its rules in the spec, complete ``Allow``
    headers, and a log line saying which routes are open to whom.

    Args:
        app: The service's app.
        tokens: The configured tokens (``API_*``).
        rules: Which paths need which scope; unnamed paths need admin.
        session: The console's cookie, when the app serves its pages.
    """

    def spec() -> dict[str, Any]:
        return app.openapi()  # looked up when asked: the spec secure_openapi makes

    methods = MethodTable(spec)
    app.add_middleware(AllowHeader, table=methods)
    app.add_middleware(AccessGuard, tokens=tokens, rules=rules, session=session, methods=methods)
    secure_openapi(app, tokens, rules)
    serving = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(started: Any) -> AsyncIterator[Any]:
        # At start-up, when every route is registered: who may call what.
        log.info("%s", describe_access(app.openapi(), tokens, rules))
        async with serving(started) as state:
            yield state

    app.router.lifespan_context = lifespan


_SAFE = frozenset({"GET", "HEAD"})
_CONSOLE_REQUEST = CONSOLE_REQUEST_HEADER.lower().encode()


def _bearer(scope: Scope) -> bytes:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            kind, _, credentials = value.partition(b" ")
            return credentials.strip() if kind.lower() == b"bearer" else b""
    return b""


async def _answer(send: Send, status: int, detail: str, *, bearer: bool = False) -> None:
    headers = [(b"content-type", b"application/json")]
    if bearer:
        headers.append((b"www-authenticate", b"Bearer"))
    body = json.dumps({"detail": detail}).encode()
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _redirect(send: Send, location: str) -> None:
    headers = [(b"location", location.encode()), (b"content-length", b"0")]
    await send({"type": "http.response.start", "status": 303, "headers": headers})
    await send({"type": "http.response.body", "body": b""})
