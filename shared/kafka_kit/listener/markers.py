"""What a handler parameter may be marked with: ``Annotated[int, RecordOffset]``, ``Inject``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DeliveryCount",
    "Inject",
    "Payload",
    "RecordField",
    "RecordHeaders",
    "RecordKey",
    "RecordOffset",
    "RecordPartition",
    "RecordTimestamp",
    "RecordTopic",
    "ValueDeserializer",
]

ValueDeserializer = Callable[[bytes | None], Any]
"""Turns a record's raw value into the payload (Avro, Protobuf…); raising: a poison pill."""


@dataclass(frozen=True)
class RecordField:
    """Marks what a handler parameter receives: ``Annotated[int, RecordOffset]``."""

    name: str
    """The record's attribute the parameter receives (``offset``, ``key``…)."""


RecordKey = RecordField("key")
RecordTopic = RecordField("topic")
RecordPartition = RecordField("partition")
RecordOffset = RecordField("offset")
RecordTimestamp = RecordField("timestamp")
RecordHeaders = RecordField("headers")
Payload = RecordField("payload")
DeliveryCount = RecordField("delivery_count")
"""How often a share-group record was delivered, this time included (1 elsewhere)."""
Inject = RecordField("dependency")
"""Marks a dependency, looked up by type among the registry's: ``Annotated[Store, Inject]``."""
