"""Kafka Connect from Python: a typed async client for its REST API (extra ``connect``).

Workers themselves are Java (Apache Kafka's ``connect-runtime``); ``kafka_kit.local_kafka``
starts them for development and tests.
"""

from kafka_kit._extras import requires_extra

with requires_extra("connect", __name__):
    from kafka_kit.connect.client import ConnectClient
from kafka_kit.connect.errors import (
    ConnectError,
    ConnectorConfigError,
    ConnectorFailedError,
    ConnectorNotFoundError,
    ConnectorNotRunningError,
    ConnectRebalancingError,
)
from kafka_kit.connect.json_envelope import without_schema
from kafka_kit.connect.models import ConnectorInfo, ConnectorStatus, PluginInfo, TaskStatus
from kafka_kit.connect.settings import ConnectSettings

__all__ = [
    "ConnectClient",
    "ConnectError",
    "ConnectRebalancingError",
    "ConnectSettings",
    "ConnectorConfigError",
    "ConnectorFailedError",
    "ConnectorInfo",
    "ConnectorNotFoundError",
    "ConnectorNotRunningError",
    "ConnectorStatus",
    "PluginInfo",
    "TaskStatus",
    "without_schema",
]
