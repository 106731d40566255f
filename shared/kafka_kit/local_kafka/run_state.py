"""A cluster's run directory: ``cluster.json`` (for the CLI and other processes), stale runs."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kafka_kit.local_kafka.node import KafkaNode
from kafka_kit.local_kafka.processes import pid_alive
from kafka_kit.local_kafka.security import ClusterSecurity

__all__ = ["RunState", "remove_stale_runs", "runs_root"]

STATE_FILE = "cluster.json"


def runs_root() -> Path:
    """Where every local cluster gets its fresh data directory."""
    return Path(tempfile.gettempdir()) / "kafka-local-runs"


@dataclass
class RunState:
    """What another process needs to reach, stop or restart a running cluster."""

    version: str
    """The Kafka version."""
    cluster_id: str
    """The KRaft cluster id."""
    nodes: list[KafkaNode]
    """Its nodes."""
    security: ClusterSecurity | None = None
    """Its CA and users, when secured."""
    owner_pid: int | None = None
    """The process that owns the brokers (they die with it); ``None`` for a background run."""

    def write(self, directory: Path) -> None:
        """Save to ``directory/cluster.json``.

        Args:
            directory: The run directory.
        """
        state: dict[str, Any] = {
            "version": self.version,
            "cluster_id": self.cluster_id,
            "bootstrap_servers": ",".join(n.address for n in self.nodes),
            # A process that owns its brokers may stop and restart them: while it lives, its
            # run is not stale even with every node down.
            "owner_pid": self.owner_pid,
            "security": (
                {"directory": str(self.security.directory), "users": self.security.users}
                if self.security
                else None
            ),
            "nodes": [
                {
                    "node_id": n.node_id,
                    "broker_port": n.broker_port,
                    "controller_port": n.controller_port,
                    "directory": str(n.directory),
                    "pid": n.pid,
                }
                for n in self.nodes
            ],
        }
        (directory / STATE_FILE).write_text(json.dumps(state, indent=2))

    @classmethod
    def read(cls, directory: Path) -> RunState:
        """Load ``directory/cluster.json`` (``OSError``, ``ValueError``, ``KeyError`` if it is
        missing or not one).

        Args:
            directory: The run directory.
        """
        state = json.loads((directory / STATE_FILE).read_text())
        secured = state.get("security")
        return cls(
            version=state["version"],
            cluster_id=state["cluster_id"],
            nodes=[
                KafkaNode(
                    node_id=n["node_id"],
                    broker_port=n["broker_port"],
                    controller_port=n["controller_port"],
                    directory=Path(n["directory"]),
                    pid=n["pid"],
                )
                for n in state["nodes"]
            ],
            security=(
                ClusterSecurity(Path(secured["directory"]), secured["users"]) if secured else None
            ),
            owner_pid=state.get("owner_pid"),
        )


def remove_stale_runs() -> None:
    """Delete run directories left by clusters whose processes are all gone."""
    root = runs_root()
    if not root.exists():
        return
    for directory in root.glob("run-*"):
        try:
            run = RunState.read(directory)
        except (OSError, ValueError, KeyError):
            # A run that never wrote its state: stale once it is old enough not to be starting.
            state = directory / STATE_FILE
            if not state.exists() and time.time() - directory.stat().st_mtime > 600:
                shutil.rmtree(directory, ignore_errors=True)
            continue
        if run.owner_pid is not None and pid_alive(run.owner_pid):
            continue
        if not any(node.is_running() for node in run.nodes):
            shutil.rmtree(directory, ignore_errors=True)
