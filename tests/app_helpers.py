"""Run a FastAPI app's lifespan in-process and talk HTTP to it."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import httpx
from fastapi import FastAPI

from kafka_kit.registry import ListenerRegistry
from kafka_kit.settings import KafkaSettings
from kafka_kit.testing import wait_until_sync


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


ROOT = Path(__file__).resolve().parents[1]


def answers_health(base_url: str) -> bool:
    """Whether the service at ``base_url`` answers ``GET /health`` with 200 (not yet: False)."""
    try:
        return httpx.get(f"{base_url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def wait_healthy(
    process: subprocess.Popen[str], base_url: str, timeout_s: float, *, status: str | None = None
) -> None:
    """Until ``process`` answers ``GET /health`` with 200 (and ``status``, if given); fails at
    once if it exits, with its output when it has a pipe."""

    def healthy() -> bool:
        if process.poll() is not None:
            output = process.communicate()[0] if process.stdout else ""
            raise AssertionError(f"exited with {process.returncode}: {output}")
        if status is None:
            return answers_health(base_url)
        try:
            answer = httpx.get(f"{base_url}/health", timeout=2)
        except httpx.HTTPError:
            return False
        return answer.status_code == 200 and answer.json()["status"] == status

    wait_until_sync(healthy, timeout_s, f"{base_url}/health answering", interval_s=0.3)


def service_process(
    module: str, port: int, env: Mapping[str, str], *, output: bool = False
) -> subprocess.Popen[str]:
    """``uvicorn <module>:app`` on ``port``, as a user runs a service.

    With ``output`` its stdout and stderr are one pipe, read by ``communicate()`` at the end —
    only for short runs: a service that logs more than a pipe holds would block on it.
    """
    pipe = subprocess.PIPE if output else subprocess.DEVNULL
    return subprocess.Popen(
        [sys.executable, "-m", "uvicorn", f"{module}:app", "--port", str(port)],
        cwd=ROOT,
        env=dict(env),
        stdout=pipe,
        stderr=subprocess.STDOUT if output else subprocess.DEVNULL,
        text=True,
    )
