"""How a Kafka Connect refusal, or Connect being away, is answered over HTTP."""

from __future__ import annotations

from kafka_kit._extras import requires_extra

with requires_extra("connect", __name__):
    import httpx
from fastapi import Request
from fastapi.responses import JSONResponse

from kafka_kit.connect import (
    ConnectError,
    ConnectorConfigError,
    ConnectorNotFoundError,
    ConnectRebalancingError,
)

__all__ = ["UNREACHABLE", "connect_error_answer", "connect_unreachable_answer"]


async def connect_error_answer(request: Request, exc: Exception) -> JSONResponse:
    """404 unknown connector; 422 an invalid config, each setting's messages; 503 +
    ``Retry-After`` while Connect rebalances; 400 for another request Connect refuses, 502 when
    it fails — each with Connect's message.

    Args:
        request: The request.
        exc: The :class:`~kafka_kit.connect.ConnectError`.
    """
    assert isinstance(exc, ConnectError)
    if isinstance(exc, ConnectorNotFoundError):
        return JSONResponse({"detail": exc.message}, status_code=404)
    if isinstance(exc, ConnectorConfigError):
        return JSONResponse({"detail": str(exc), "errors": exc.errors}, status_code=422)
    if isinstance(exc, ConnectRebalancingError):
        return JSONResponse(
            {"detail": f"Kafka Connect is rebalancing: {exc.message}"},
            status_code=503,
            headers={"Retry-After": "2"},
        )
    if 400 <= exc.status < 500:
        # The request does not fit (e.g. offsets of a connector that is not stopped).
        return JSONResponse({"detail": f"Kafka Connect refused: {exc.message}"}, status_code=400)
    return JSONResponse({"detail": f"Kafka Connect failed: {exc.message}"}, status_code=502)


async def connect_unreachable_answer(request: Request, exc: Exception) -> JSONResponse:
    """503 + ``Retry-After``: no worker answered.

    Args:
        request: The request.
        exc: The connection error.
    """
    return JSONResponse(
        {"detail": f"Kafka Connect did not answer: {type(exc).__name__}: {exc}"},
        status_code=503,
        headers={"Retry-After": "5"},
    )


UNREACHABLE = (httpx.TransportError,)
"""The errors that mean no worker answered."""
