"""The access rules in the OpenAPI spec and the start-up log: what the guard enforces, declared."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI

from kafka_kit.web.access import CLOSED_ADMIN, AccessRule, AccessScope, ApiTokens, scope_for

__all__ = ["describe_access", "secure_openapi"]


def describe_access(spec: dict[str, Any], tokens: ApiTokens, rules: Sequence[AccessRule]) -> str:
    """One sentence: who may call which of the spec's operations, with these tokens.

    Args:
        spec: The app's OpenAPI spec.
        tokens: The configured tokens.
        rules: The service's rules.
    """
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

    Args:
        app: The service's app.
        tokens: The configured tokens.
        rules: The service's rules.
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
