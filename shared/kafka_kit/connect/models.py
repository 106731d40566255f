"""The Connect REST API's answers, typed."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ConnectorInfo", "ConnectorStatus", "PluginInfo", "TaskStatus", "WorkerState"]

State = Literal["UNASSIGNED", "RUNNING", "PAUSED", "STOPPED", "FAILED", "RESTARTING"]


class WorkerState(BaseModel):
    """A connector's or a task's state and the worker running it."""

    model_config = ConfigDict(extra="ignore")

    state: State
    """What it does now."""
    worker_id: str
    """The worker that runs it (``host:port``)."""
    trace: str | None = Field(default=None, description="The failure's stack trace, if FAILED.")


class TaskStatus(WorkerState):
    """One task of a connector."""

    id: int
    """The task's number."""


class ConnectorStatus(BaseModel):
    """``GET /connectors/{name}/status``."""

    model_config = ConfigDict(extra="ignore")

    name: str
    """The connector's name."""
    connector: WorkerState
    """The connector's own state and worker."""
    tasks: list[TaskStatus]
    """Each task's state and worker."""
    type: Literal["source", "sink", "unknown"] | None = None
    """``source`` or ``sink``."""


class ConnectorInfo(BaseModel):
    """``GET /connectors/{name}``: its config and tasks."""

    model_config = ConfigDict(extra="ignore")

    name: str
    """The connector's name."""
    config: dict[str, str]
    """Its config, as Connect keeps it."""
    tasks: list[dict[str, Any]]
    """Its tasks (``{"connector": …, "task": n}``)."""
    type: Literal["source", "sink", "unknown"] | None = None
    """``source`` or ``sink``."""


class PluginInfo(BaseModel):
    """A connector plugin the workers have."""

    model_config = ConfigDict(extra="ignore")

    class_name: str = Field(alias="class")
    """The connector class (``io.debezium.connector.postgresql.PostgresConnector``)."""
    type: str
    """``source``, ``sink``, ``converter``…"""
    version: str | None = None
    """The plugin's version, when it says."""
