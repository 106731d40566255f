"""One policy for hostile JSON: strict parsing, one nesting limit, error bodies that always encode.

Request bodies are parsed by pydantic's parser with ``NaN``/``Infinity`` refused, then checked:
numbers out of the float range (``1e400``, which parses as infinity) are refused, and so is
nesting deeper than :data:`MAX_DEPTH` levels per event (a batch counts from each event, so the
limit is the same for one event and many). Lone surrogates and invalid UTF-8 are refused by the
parser. Each refusal is a ``422`` like any other invalid body — and whatever is accepted, the
consumer side can parse (its parser allows 200 levels).

Validation errors never echo input that would not encode as strict JSON (the default handler did,
and crashed with a 500 on ``NaN`` or a lone surrogate).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic_core import from_json

__all__ = ["MAX_DEPTH", "StrictJsonRoute", "strict_loads", "validation_error_answer"]

MAX_DEPTH = 64
"""Deepest nesting of one event (the event object itself is level 1)."""


def strict_loads(body: bytes) -> Any:
    """Parse ``body`` by the strict policy; :class:`json.JSONDecodeError` says why it is refused.

    Args:
        body: The request body.
    """
    try:
        value = from_json(body, allow_inf_nan=False)
    except ValueError as exc:
        raise json.JSONDecodeError(str(exc), "", 0) from exc
    problem = _check(value, batch=isinstance(value, list))
    if problem is not None:
        raise json.JSONDecodeError(problem, "", 0)
    return value


class _StrictRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = strict_loads(await self.body())
        return self._json


class StrictJsonRoute(APIRoute):
    """A route whose JSON bodies are parsed by the strict policy (``router.route_class``)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """Hand the endpoint a request that parses JSON strictly."""
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            return await handler(_StrictRequest(request.scope, request.receive))

        return strict


def _check(value: Any, *, batch: bool) -> str | None:
    """Why ``value`` is refused (a number out of range, too deep), or ``None``."""
    # Iterative: a hostile body must not exhaust Python's recursion either.
    stack: list[tuple[Any, int]] = [(item, 1) for item in value] if batch else [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, float):
            if not math.isfinite(node):
                return "a number is out of range (finite floats only)"
        elif isinstance(node, dict | list):
            if depth > MAX_DEPTH:
                return f"nesting deeper than {MAX_DEPTH} levels"
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)
    return None


def validation_error_answer(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422 body, without any ``input`` that would not encode as strict JSON.

    Args:
        request: The request.
        exc: FastAPI's ``RequestValidationError``.
    """
    assert isinstance(exc, RequestValidationError)
    errors = []
    for error in exc.errors():
        safe: dict[str, Any] = {}
        for key, value in error.items():
            encoded = _encodable(value)
            if encoded is not _UNENCODABLE:
                safe[key] = encoded
            elif key == "input":
                safe[key] = "(not shown: not valid JSON text)"
        errors.append(safe)
    return JSONResponse({"detail": errors}, status_code=422)


_UNENCODABLE = object()


def _encodable(value: Any) -> Any:
    """``value`` as JSON-able data when it encodes as strict UTF-8 JSON, else a marker."""
    try:
        encoded = jsonable_encoder(value)
        json.dumps(encoded, allow_nan=False, ensure_ascii=False).encode()
    except (ValueError, TypeError):
        return _UNENCODABLE
    return encoded
