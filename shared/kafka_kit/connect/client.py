"""A typed async client for Kafka Connect's REST API (any worker of a group answers)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx

from kafka_kit.connect.errors import (
    ConnectError,
    ConnectorConfigError,
    ConnectorFailedError,
    ConnectorNotFoundError,
    ConnectorNotRunningError,
    ConnectRebalancingError,
)
from kafka_kit.connect.models import ConnectorInfo, ConnectorStatus, PluginInfo

__all__ = ["ConnectClient"]


class ConnectClient:
    """``async with ConnectClient("http://connect:8083") as connect: await connect.status(name)``.

    Every refusal raises a :class:`ConnectError` with Connect's own message: 404 as
    :class:`ConnectorNotFoundError`, 409 (a rebalance, a concurrent change) as
    :class:`ConnectRebalancingError`, an invalid config as :class:`ConnectorConfigError` with each
    setting's messages (configs are validated before they are sent).

    Args:
        url: A worker's REST address (any worker of a distributed group forwards to the leader).
        timeout_s: How long a request may take.
    """

    def __init__(self, url: str, *, timeout_s: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.AsyncClient(base_url=self.url, timeout=timeout_s)

    async def __aenter__(self) -> ConnectClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the HTTP connections."""
        await self._http.aclose()

    async def worker(self) -> dict[str, Any]:
        """The answering worker's Kafka version, commit and cluster id."""
        answer: dict[str, Any] = await self._call("GET", "/")
        return answer

    async def plugins(self) -> list[PluginInfo]:
        """The connector plugins the workers have."""
        return [PluginInfo.model_validate(p) for p in await self._call("GET", "/connector-plugins")]

    async def connectors(self) -> list[str]:
        """The connectors' names."""
        names: list[str] = await self._call("GET", "/connectors")
        return sorted(names)

    async def validate(self, config: Mapping[str, str]) -> dict[str, list[str]]:
        """Connect's validation of ``config`` (by its ``connector.class``): setting → messages.

        Args:
            config: A connector config, ``connector.class`` included.
        """
        plugin = config.get("connector.class")
        if not plugin:
            raise ConnectorConfigError("(none)", {"connector.class": ["is required"]})
        answer = await self._call(
            "PUT",
            f"/connector-plugins/{quote(plugin.rsplit('.', 1)[-1], safe='')}/config/validate",
            json=dict(config),
        )
        errors: dict[str, list[str]] = {}
        for entry in answer.get("configs") or []:
            # Debezium lists some settings with a null value block: nothing to report.
            value = entry.get("value") or {}
            if value.get("errors"):
                errors[value["name"]] = list(value["errors"])
        return errors

    async def put(self, name: str, config: Mapping[str, str]) -> ConnectorInfo:
        """Create connector ``name`` or replace its config, after Connect validated it.

        Args:
            name: The connector.
            config: Its whole config (``connector.class``, ``tasks.max``, …).
        """
        full = {**config, "name": name}
        errors = await self.validate(full)
        if errors:
            raise ConnectorConfigError(full["connector.class"], errors)
        answer = await self._call("PUT", f"/connectors/{_q(name)}/config", json=full)
        return ConnectorInfo.model_validate(answer)

    async def info(self, name: str) -> ConnectorInfo:
        """The connector's config and tasks.

        Args:
            name: The connector.
        """
        return ConnectorInfo.model_validate(await self._call("GET", f"/connectors/{_q(name)}"))

    async def status(self, name: str) -> ConnectorStatus:
        """The connector's and its tasks' states, and which worker runs each.

        Args:
            name: The connector.
        """
        answer = await self._call("GET", f"/connectors/{_q(name)}/status")
        return ConnectorStatus.model_validate(answer)

    async def wait_running(
        self, name: str, timeout_s: float = 60.0, *, poll_s: float = 0.25
    ) -> ConnectorStatus:
        """The status once the connector and its tasks (at least one) are all RUNNING.

        A connector just put has no status for a moment (404), a group that rebalances answers
        409, a worker that starts refuses connections: each is asked again until ``timeout_s``.

        Args:
            name: The connector.
            timeout_s: How long until :class:`ConnectorNotRunningError`.
            poll_s: How often to ask.

        Raises:
            ConnectorFailedError: The connector or a task is FAILED (it stays so until restarted).
            ConnectorNotRunningError: Not all RUNNING in time.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                status = await self.status(name)
            except (ConnectorNotFoundError, ConnectRebalancingError, httpx.TransportError) as e:
                last_seen = str(e) or type(e).__name__
            else:
                states = [status.connector, *status.tasks]
                failed = next((s for s in states if s.state == "FAILED"), None)
                if failed is not None:
                    raise ConnectorFailedError(name, failed.worker_id, failed.trace)
                if status.tasks and all(s.state == "RUNNING" for s in states):
                    return status
                tasks = ", ".join(f"task {t.id} {t.state}" for t in status.tasks) or "no task"
                last_seen = f"connector {status.connector.state}, {tasks}"
            if time.monotonic() >= deadline:
                raise ConnectorNotRunningError(name, timeout_s, last_seen)
            await asyncio.sleep(poll_s)

    async def pause(self, name: str) -> None:
        """Pause the connector and its tasks (they keep their assignment).

        Args:
            name: The connector.
        """
        await self._call("PUT", f"/connectors/{_q(name)}/pause")

    async def resume(self, name: str) -> None:
        """Resume a paused or stopped connector.

        Args:
            name: The connector.
        """
        await self._call("PUT", f"/connectors/{_q(name)}/resume")

    async def stop(self, name: str) -> None:
        """Stop the connector and shut its tasks down (needed before its offsets change).

        Args:
            name: The connector.
        """
        await self._call("PUT", f"/connectors/{_q(name)}/stop")

    async def restart(
        self, name: str, *, include_tasks: bool = False, only_failed: bool = False
    ) -> None:
        """Restart the connector (and its tasks, or only the failed ones).

        Args:
            name: The connector.
            include_tasks: Restart its tasks too.
            only_failed: Only what has failed.
        """
        params = {
            "includeTasks": str(include_tasks).lower(),
            "onlyFailed": str(only_failed).lower(),
        }
        await self._call("POST", f"/connectors/{_q(name)}/restart", params=params)

    async def restart_task(self, name: str, task: int) -> None:
        """Restart one task.

        Args:
            name: The connector.
            task: The task's id.
        """
        await self._call("POST", f"/connectors/{_q(name)}/tasks/{task}/restart")

    async def offsets(self, name: str) -> list[dict[str, Any]]:
        """The connector's committed offsets (source partitions and offsets; sinks: per TP).

        Args:
            name: The connector.
        """
        answer = await self._call("GET", f"/connectors/{_q(name)}/offsets")
        offsets: list[dict[str, Any]] = answer.get("offsets", [])
        return offsets

    async def alter_offsets(self, name: str, offsets: list[dict[str, Any]]) -> str:
        """Set the offsets of a STOPPED connector (each ``{"partition": …, "offset": …}``).

        Args:
            name: The connector.
            offsets: Each ``{"partition": …, "offset": …}`` in Connect's form (KIP-875).
        """
        answer = await self._call(
            "PATCH", f"/connectors/{_q(name)}/offsets", json={"offsets": offsets}
        )
        return str((answer or {}).get("message", ""))

    async def reset_offsets(self, name: str) -> str:
        """Forget a STOPPED connector's offsets: it starts from the beginning when resumed.

        Args:
            name: The connector (stopped).
        """
        answer = await self._call("DELETE", f"/connectors/{_q(name)}/offsets")
        return str((answer or {}).get("message", ""))

    async def delete(self, name: str) -> None:
        """Delete the connector.

        Args:
            name: The connector.
        """
        await self._call("DELETE", f"/connectors/{_q(name)}")

    async def _call(self, method: str, path: str, **options: Any) -> Any:
        answer = await self._http.request(method, path, **options)
        if answer.status_code >= 400:
            raise _error(answer)
        if answer.status_code == 204 or not answer.content:
            return None
        return answer.json()


def _q(name: str) -> str:
    return quote(name, safe="")


def _error(answer: httpx.Response) -> ConnectError:
    try:
        message = str(answer.json().get("message") or answer.text)
    except ValueError:
        message = answer.text or answer.reason_phrase
    if answer.status_code == 404:
        return ConnectorNotFoundError(404, message)
    if answer.status_code == 409:
        return ConnectRebalancingError(409, message)
    return ConnectError(answer.status_code, message)
