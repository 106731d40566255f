"""What the Connect REST API answers when it refuses, as the kit's errors."""

from __future__ import annotations

from kafka_kit.errors import KafkaKitError

__all__ = [
    "ConnectError",
    "ConnectRebalancingError",
    "ConnectorConfigError",
    "ConnectorNotFoundError",
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
