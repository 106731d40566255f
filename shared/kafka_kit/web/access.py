"""Who may call what: the tokens (``API_*``), the rule table, and the scope a request needs.

Default-deny: a path no rule names needs the admin scope. :mod:`kafka_kit.web.auth` enforces
this (``AccessGuard``); :mod:`kafka_kit.web.access_spec` declares it in the OpenAPI spec.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = [
    "CLOSED_ADMIN",
    "OPEN_PATHS",
    "AccessRule",
    "AccessScope",
    "ApiTokens",
    "rules",
    "scope_for",
    "secret_bytes",
    "token_matches",
]

AccessScope = Literal["open", "read", "write", "admin"]


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
        closed to everyone (an admin route while no token is set and none opened it).

        Args:
            scope: A route's scope.
        """
        if scope == "open" or (scope == "read" and self.read_open):
            return "none"
        if self.enabled:
            return "token"
        if scope == "admin" and not self.admin_open:
            return "closed"
        return "none"

    def scope_of(self, token: str) -> Literal["read", "admin"] | None:
        """What ``token`` may do: ``admin``, ``read``, or nothing (``None``).

        Args:
            token: A bearer token a request gave.
        """
        given = token.encode()
        is_admin = token_matches(given, secret_bytes(self.admin_token))
        is_reader = token_matches(given, secret_bytes(self.read_token))
        return "admin" if is_admin else "read" if is_reader else None


@dataclass(frozen=True)
class AccessRule:
    """Requests whose method is in ``methods`` (all if empty) and path matches ``path`` need
    ``scope``."""

    path: str
    """A regex the whole path must match."""
    scope: AccessScope
    """What a matching request needs: ``open``, ``read``, ``write`` or ``admin``."""
    methods: frozenset[str] = frozenset()
    """The methods it applies to (empty: every method)."""

    def matches(self, method: str, path: str) -> bool:
        """Whether this rule decides the request.

        Args:
            method: The request's method.
            path: The request's path.
        """
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
    AccessRule(r"/asyncapi(\.json)?", "open"),
)
"""Open on both services: liveness, Prometheus scraping and the APIs' own descriptions (OpenAPI
for the routes, AsyncAPI for the topics)."""


CLOSED_ADMIN = (
    "this route changes the service and is closed: no API_ADMIN_TOKEN is set. Set "
    "API_ADMIN_TOKEN (then send it as a bearer token), or API_ADMIN_OPEN=true to open the admin "
    "routes to anyone who reaches this service"
)
"""The ``403`` of an admin route while no token is configured."""


def scope_for(rules: Sequence[AccessRule], method: str, path: str) -> AccessScope:
    """The scope a request needs: the first matching rule's, else admin (default-deny).

    Args:
        rules: The service's rules (the open paths come first).
        method: The request's method (HEAD counts as GET).
        path: The request's path.
    """
    if method == "HEAD":
        method = "GET"
    for rule in (*OPEN_PATHS, *rules):
        if rule.matches(method, path):
            return rule.scope
    return "admin"


def rules(*entries: tuple[str, AccessScope, Iterable[str]]) -> tuple[AccessRule, ...]:
    """A table from ``(path regex, scope, methods)`` triples (no methods: every method).

    Args:
        entries: ``(path regex, scope, methods)`` triples.
    """
    return tuple(AccessRule(path, scope, frozenset(methods)) for path, scope, methods in entries)


def token_matches(given: bytes, token: bytes | None) -> bool:
    """Whether ``given`` is ``token``, compared in constant time.

    Args:
        given: What the request sent.
        token: A configured token's bytes (``None``: unset, never matches).
    """
    return token is not None and secrets.compare_digest(given, token)


def secret_bytes(token: SecretStr | None) -> bytes | None:
    """The token's bytes, or ``None`` when it is unset.

    Args:
        token: A configured token.
    """
    return token.get_secret_value().encode() if token is not None else None
