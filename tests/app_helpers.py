"""Run a FastAPI app's lifespan in-process and talk HTTP to it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
from fastapi import FastAPI

from kafka_kit.registry import ListenerRegistry
from kafka_kit.settings import KafkaSettings


@contextlib.asynccontextmanager
async def running(app: FastAPI, name: str = "app") -> AsyncIterator[httpx.AsyncClient]:
    """Run the app's lifespan and give an HTTP client to it."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{name}") as client:
            yield client


@contextlib.asynccontextmanager
async def started(registry: ListenerRegistry, settings: KafkaSettings) -> AsyncIterator[None]:
    """Start a listener registry for the block; stop it (committing) after."""
    await registry.start(settings)
    try:
        yield
    finally:
        await registry.stop()
