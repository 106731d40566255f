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
import secrets
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from fastapi import FastAPI
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Receive, Scope, Send

from kafka_kit.web.methods import AllowHeader, MethodTable

__all__ = [
    "CONSOLE_REQUEST_HEADER",
    "AccessGuard",
    "AccessRule",
    "AccessScope",
    "ApiTokens",
    "SessionCookie",
    "install_access",
    "rules",
    "scope_for",
    "secure_openapi",
]

log = logging.getLogger(__name__)

AccessScope = Literal["open", "read", "write", "admin"]

CONSOLE_REQUEST_HEADER = "X-Console-Request"
"""Sent by the console's own scripts with every change: what a cookie needs to admit one."""


class ApiTokens(BaseSettings):
    """Bearer tokens for the services' endpoints (env ``API_*``); none set: admin closed."""

    model_config = SettingsConfigDict(env_prefix="API_", extra="ignore")

    read_token: SecretStr | None = Field(
        default=None, description="bearer token for reads of stored data, listeners, lag, DLTs"
    )
    admin_token: SecretStr | None = Field(
        default=None,
        description="bearer token for everything that changes something (writes, listener "
        "control, seeks, replays); it also reads",
    )
    admin_token_file: Path | None = Field(
        default=None,
        description="read the admin token from this file when `API_ADMIN_TOKEN` is unset (a "
        "secret mounted by Compose or Kubernetes)",
    )
    admin_open: bool = Field(
        default=False,
        description="with no token set, let anyone call the admin routes (listener control, "
        "seeks, replays, connectors) — only on a network nobody else reaches",
    )
    read_open: bool = Field(
        default=False,
        description="reads need no token even while tokens are set (the demo: look without "
        "logging in; changes still need the admin token)",
    )

    @field_validator("read_token", "admin_token", "admin_token_file", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # Compose passes an unset variable as "": that means no token, not an empty one.
        return None if value == "" else value

    @model_validator(mode="after")
    def _token_from_file(self) -> ApiTokens:
        path = self.admin_token_file
        if self.admin_token is None and path is not None:
            try:
                token = path.read_text().strip()
            except OSError as exc:
                raise ValueError(f"API_ADMIN_TOKEN_FILE {path} cannot be read: {exc}") from exc
            if not token:
                raise ValueError(f"API_ADMIN_TOKEN_FILE {path} is empty")
            self.admin_token = SecretStr(token)
        return self

    @property
    def enabled(self) -> bool:
        """Whether any token is set (then the guard enforces every non-open endpoint)."""
        return self.read_token is not None or self.admin_token is not None

    def requirement(self, scope: AccessScope) -> Literal["none", "token", "closed"]:
        """What a route of ``scope`` needs with these settings: nothing, a token, or it is
        closed to everyone (an admin route while no token is set and none opened it)."""
        if scope == "open" or (scope == "read" and self.read_open):
            return "none"
        if self.enabled:
            return "token"
        if scope == "admin" and not self.admin_open:
            return "closed"
        return "none"

    def scope_of(self, token: str) -> Literal["read", "admin"] | None:
        """What ``token`` may do: ``admin``, ``read``, or nothing (``None``)."""
        given = token.encode()
        is_admin = _matches(given, _secret(self.admin_token))
        is_reader = _matches(given, _secret(self.read_token))
        return "admin" if is_admin else "read" if is_reader else None


@dataclass(frozen=True)
class SessionCookie:
    """The cookie a login form sets for pages a browser navigates (``pages``, a path regex)."""

    name: str = "kafka_kit_console"
    login_path: str = "/console/login"
    pages: str = r"/console(/.*)?"


@dataclass(frozen=True)
class AccessRule:
    """Requests whose method is in ``methods`` (all if empty) and path matches ``path`` need
    ``scope``."""

    path: str
    scope: AccessScope
    methods: frozenset[str] = frozenset()

    def matches(self, method: str, path: str) -> bool:
        """Whether this rule decides the request."""
        return (not self.methods or method in self.methods) and re.fullmatch(
            self.path, path
        ) is not None


OPEN_PATHS = (
    AccessRule(r"/health", "open"),
    AccessRule(r"/metrics", "open"),
    AccessRule(r"/docs(/.*)?", "open"),
    AccessRule(r"/redoc", "open"),
    AccessRule(r"/openapi\.json", "open"),
    AccessRule(r"/docs-assets(/.*)?", "open"),
)
"""Open on both services: liveness, Prometheus scraping and the API's own description."""


CLOSED_ADMIN = (
    "this route changes the service and is closed: no API_ADMIN_TOKEN is set. Set "
    "API_ADMIN_TOKEN (then send it as a bearer token), or API_ADMIN_OPEN=true to open the admin "
    "routes to anyone who reaches this service"
)
"""The ``403`` of an admin route while no token is configured."""


def scope_for(rules: Sequence[AccessRule], method: str, path: str) -> AccessScope:
    """The scope a request needs: the first matching rule's, else admin (default-deny)."""
    if method == "HEAD":
        method = "GET"
    for rule in (*OPEN_PATHS, *rules):
        if rule.matches(method, path):
            return rule.scope
    return "admin"


class AccessGuard:
    """ASGI middleware enforcing :class:`ApiTokens` by a table of :class:`AccessRule`.

    ``methods`` (the app's spec): a method the path does not serve is passed on for its ``405``
    instead of being refused — there is nothing to protect.
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
        self.read = _secret(tokens.read_token)
        self.admin = _secret(tokens.admin_token)
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
        is_admin = _matches(given, self.admin)
        is_reader = _matches(given, self.read)
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
    headers, and a log line saying which routes are open to whom."""

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


def describe_access(spec: dict[str, Any], tokens: ApiTokens, rules: Sequence[AccessRule]) -> str:
    """One sentence: who may call which of the spec's operations, with these tokens."""
    by_scope: dict[AccessScope, list[str]] = {"open": [], "read": [], "write": [], "admin": []}
    for path, operations in spec.get("paths", {}).items():
        for method in operations:
            by_scope[scope_for(rules, method.upper(), _example_path(path))].append(
                f"{method.upper()} {path}"
            )
    parts = []
    scope: AccessScope
    for scope in ("read", "write", "admin"):
        routes = by_scope[scope]
        if not routes:
            continue
        requirement = tokens.requirement(scope)
        if requirement == "none":
            parts.append(f"{len(routes)} {scope} routes open to anyone")
        elif requirement == "token":
            token = "the read or admin token" if scope == "read" else "the admin token"
            parts.append(f"{len(routes)} {scope} routes need {token}")
        else:
            parts.append(
                f"{len(routes)} {scope} routes closed (403) until API_ADMIN_TOKEN is set (or "
                f"API_ADMIN_OPEN=true): {', '.join(routes)}"
            )
    return "access: " + "; ".join(parts)


def secure_openapi(app: FastAPI, tokens: ApiTokens, rules: Sequence[AccessRule]) -> None:
    """Declare in the OpenAPI spec exactly what the guard enforces.

    With tokens: the bearer scheme on every route that needs one. With none: the admin routes'
    ``403`` while they are closed; nothing when everything is open.
    """
    if all(tokens.requirement(s) == "none" for s in ("read", "write", "admin")):
        return
    plain = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        spec = plain()
        if tokens.enabled:
            spec.setdefault("components", {}).setdefault("securitySchemes", {})["bearer"] = {
                "type": "http",
                "scheme": "bearer",
                "description": "`API_READ_TOKEN` for reads, `API_ADMIN_TOKEN` for everything",
            }
        for path, operations in spec.get("paths", {}).items():
            for method, operation in operations.items():
                needed = scope_for(rules, method.upper(), _example_path(path))
                requirement = tokens.requirement(needed)
                if requirement == "none":
                    continue
                responses = operation.setdefault("responses", {})
                if requirement == "closed":
                    responses.setdefault("403", _error(f"Closed: {CLOSED_ADMIN}."))
                    continue
                operation["security"] = [{"bearer": []}]
                responses.setdefault("401", _error("No valid bearer token."))
                if needed in ("write", "admin"):
                    responses.setdefault("403", _error("A read token on an admin endpoint."))
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]


def _example_path(template: str) -> str:
    """``/listeners/{listener_id}/seek`` → ``/listeners/x/seek``: what the rules match."""
    return re.sub(r"\{[^}]+\}", "x", template)


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {
        "type": "object", "properties": {"detail": {"type": "string"}}}}}}  # fmt: skip


_SAFE = frozenset({"GET", "HEAD"})
_CONSOLE_REQUEST = CONSOLE_REQUEST_HEADER.lower().encode()


def _matches(given: bytes, token: bytes | None) -> bool:
    return token is not None and secrets.compare_digest(given, token)


def _secret(token: SecretStr | None) -> bytes | None:
    return token.get_secret_value().encode() if token is not None else None


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


def rules(*entries: tuple[str, AccessScope, Iterable[str]]) -> tuple[AccessRule, ...]:
    """A table from ``(path regex, scope, methods)`` triples (no methods: every method)."""
    return tuple(AccessRule(path, scope, frozenset(methods)) for path, scope, methods in entries)
