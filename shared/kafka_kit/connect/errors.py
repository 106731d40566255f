"""What the Connect REST API answers when it refuses, as the kit's errors."""

from __future__ import annotations

from kafka_kit.errors import KafkaKitError

__all__ = [
    "ConnectError",
    "ConnectRebalancingError",
    "ConnectorConfigError",
    "ConnectorFailedError",
    "ConnectorNotFoundError",
    "ConnectorNotRunningError",
]


class ConnectError(KafkaKitError, RuntimeError):
    """The Connect REST API refused a request: its HTTP status and its message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"Kafka Connect answered {status}: {message}")
        self.status = status
        self.message = message


class ConnectorNotFoundError(ConnectError, LookupError):
    """No such connector (or task) on this Connect cluster (404)."""


class ConnectRebalancingError(ConnectError):
    """409: the workers are rebalancing or the request raced a config change; ask again soon."""


class ConnectorConfigError(ConnectError, ValueError):
    """The connector's config did not validate: each invalid setting with its messages."""

    def __init__(self, connector_class: str, errors: dict[str, list[str]]) -> None:
        details = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in errors.items())
        super().__init__(400, f"invalid config for {connector_class}: {details}")
        self.errors = errors


class ConnectorFailedError(KafkaKitError, RuntimeError):
    """A connector or one of its tasks is FAILED: where, and the first line of Connect's trace."""

    def __init__(self, name: str, worker_id: str, trace: str | None) -> None:
        lines = (trace or "").strip().splitlines()
        cause = lines[0] if lines else "no trace given"
        super().__init__(f"connector {name} failed on {worker_id}: {cause}")
        self.name = name
        self.worker_id = worker_id
        self.trace = trace


class ConnectorNotRunningError(KafkaKitError, TimeoutError):
    """A connector and its tasks were not all RUNNING in time (the last state seen says where)."""

    def __init__(self, name: str, timeout_s: float, last_seen: str) -> None:
        super().__init__(f"connector {name} not running after {timeout_s:g} s: {last_seen}")
        self.name = name
        self.last_seen = last_seen
