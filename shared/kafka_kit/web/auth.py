"""Optional bearer-token authentication for write endpoints."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr

__all__ = ["bearer_token_auth"]


_bearer = HTTPBearer(auto_error=False, description="Required when the service sets a token.")


def bearer_token_auth(token: SecretStr | None) -> Callable[..., Awaitable[None]]:
    """A dependency that demands ``Authorization: Bearer <token>``; with no token, it admits all.

    Dependencies here are ``async def``: FastAPI runs plain ``def`` ones in a thread pool, a
    thread hop per request per dependency.
    """

    async def check(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> None:
        if token is None:
            return
        expected = token.get_secret_value().encode()
        given = credentials.credentials.encode() if credentials else b""
        if not secrets.compare_digest(given, expected):
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                detail="a valid bearer token is required",
                headers={"WWW-Authenticate": "Bearer"},
            )

    return check
