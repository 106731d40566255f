"""The consumer's listener on a Debezium change topic: each order row's inserts, updates, deletes.

Registered when ``ORDER_CHANGES_TOPIC`` names the topic (``./dev demo --connect`` does). A change
record's key is the row's key (``{"id": 1}``) and its value Debezium's envelope (``op``: ``c``
insert, ``u`` update, ``d`` delete, ``r`` read by the initial snapshot; ``before``/``after``); a
delete is followed by a tombstone (no value), which compacted topics use to forget the row. Keys
and values may carry Connect's JSON schema envelope (``schemas.enable=true``): it is taken off.
"""

from __future__ import annotations

import json
import logging
from collections import deque
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from kafka_kit import ConsumerRecord, ListenerRegistry, kafka_listener
from kafka_kit.connect import without_schema

log = logging.getLogger(__name__)

ORDER_CHANGES_ID = "order_changes"
OPERATIONS = {"c": "inserted", "u": "updated", "d": "deleted", "r": "read in the snapshot"}


class OrderChangesSettings(BaseSettings):
    """The CDC listener (env ``ORDER_CHANGES_*``); no topic: no listener."""

    model_config = SettingsConfigDict(env_prefix="ORDER_CHANGES_", extra="ignore")

    topic: str | None = Field(default=None, description="a Debezium change topic of orders")
    group_id: str = Field(default="order-changes", min_length=1, description="its group")


class OrderChanges:
    """The latest row changes the listener saw, newest last."""

    def __init__(self, limit: int = 100) -> None:
        self.changes: deque[dict[str, Any]] = deque(maxlen=limit)


def register_order_changes(
    registry: ListenerRegistry, settings: OrderChangesSettings, changes: OrderChanges
) -> None:
    """Register the listener on ``settings.topic`` (nothing when it is not set)."""
    if settings.topic is None:
        return

    @kafka_listener(
        settings.topic, group_id=settings.group_id, id=ORDER_CHANGES_ID, registry=registry
    )
    async def order_changes(record: ConsumerRecord[bytes, bytes]) -> None:
        # With or without the converter's schema beside the data (the demo's JDBC sink needs it).
        key = without_schema(json.loads(record.key)) if record.key else None
        if record.value is None:
            log.info("order %s: tombstone (the row is gone)", key)
            return
        change = without_schema(json.loads(record.value))
        row = change.get("after") or change.get("before") or {}
        what = OPERATIONS.get(change.get("op"), change.get("op"))
        log.info(
            "order %s %s: %s (%s-%d@%d)",
            key,
            what,
            row,
            record.topic,
            record.partition,
            record.offset,
        )
        changes.changes.append(
            {"key": key, "op": change.get("op"), "row": row, "offset": record.offset}
        )
