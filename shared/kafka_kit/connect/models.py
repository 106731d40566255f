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
    worker_id: str
    trace: str | None = Field(default=None, description="The failure's stack trace, if FAILED.")


class TaskStatus(WorkerState):
    """One task of a connector."""

    id: int


class ConnectorStatus(BaseModel):
    """``GET /connectors/{name}/status``."""

    model_config = ConfigDict(extra="ignore")

    name: str
    connector: WorkerState
    tasks: list[TaskStatus]
    type: Literal["source", "sink", "unknown"] | None = None


class ConnectorInfo(BaseModel):
    """``GET /connectors/{name}``: its config and tasks."""

    model_config = ConfigDict(extra="ignore")

    name: str
    config: dict[str, str]
    tasks: list[dict[str, Any]]
    type: Literal["source", "sink", "unknown"] | None = None


class PluginInfo(BaseModel):
    """A connector plugin the workers have."""

    model_config = ConfigDict(extra="ignore")

    class_name: str = Field(alias="class")
    type: str
    version: str | None = None
