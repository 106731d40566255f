"""The example topology: event counts per type in tumbling windows, and per key.

    events ──► parse ──► (no event: ─► events-dlt, with Spring's kafka_dlt-* headers)
                 ├─► (keyed) drop repeated ids ──► per-key count, last-seen ──► <app>-per-key
                 └─► group by type ──► drop repeated ids ──► 1-minute windows ──► <app>-per-type

State stores (RocksDB, each change written to a compacted changelog topic): the ids seen and the
per-key values live under the event's key in the input stream's store; the ids seen again and the
window counts under the type in the repartitioned stream's stores (so keyless events, spread over
partitions, are deduplicated too). Under exactly-once, store changes, output
records and input offsets commit together in one transaction per checkpoint.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from kafka_kit import dead_letter_topic
from kafka_kit.dead_letter import Origin
from kafka_kit.streams import (
    State,
    StoreReader,
    StreamsApplication,
    TopicConfig,
    dead_letter_headers,
    message_context,
)
from producer_service.events import EventDto, EventsTopicSettings

log = logging.getLogger(__name__)

PER_KEY = "per-key"
PER_TYPE = "per-type"


class EventStatsSettings(BaseSettings):
    """The example topology (env ``EVENT_STATS_*``)."""

    model_config = SettingsConfigDict(env_prefix="EVENT_STATS_", extra="ignore")

    enabled: bool = Field(default=True, description="run the example stream topology")
    window_s: int = Field(default=60, gt=0, description="the per-type tumbling window's size")
    grace_s: int = Field(
        default=30, ge=0, description="how late (by event time) a record may still be counted"
    )


@dataclass
class EventStats:
    """The topology's stores, topics and counters, for the HTTP routes."""

    streams: StreamsApplication
    settings: EventStatsSettings
    input_topic: str
    partitions: int
    by_type_topic: str
    output_topics: dict[str, str]
    per_key: StoreReader
    per_type: StoreReader
    late: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    dead_lettered: int = 0

    def key_stats(self, key: str, partition: int) -> dict[str, Any] | None:
        """The running count and last-seen time of ``key`` in this instance's store."""
        value: dict[str, Any] | None = self.per_key.get(key, "stats", partition)
        return value

    def type_windows(self, event_type: str, partition: int) -> list[dict[str, Any]]:
        """The windows of ``event_type`` still open (within grace) in this instance's store."""
        return [
            {"start": _iso_ms(start), "end": _iso_ms(end), "count": count}
            for (start, end), count in self.per_type.windows(event_type, partition)
        ]


def _iso_ms(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).isoformat()


def build_event_stats(
    streams: StreamsApplication,
    events: EventsTopicSettings,
    settings: EventStatsSettings,
) -> EventStats:
    """Declare the topology on ``streams`` (it runs once ``streams`` starts)."""
    app = streams.app
    app_id = streams.application_id
    events_topic, partitions = events.topic, events.partitions
    source = app.topic(events_topic, key_deserializer="str", value_deserializer="bytes")
    dead_letters = app.topic(
        dead_letter_topic(events_topic), key_serializer="str", value_serializer="bytes"
    )
    # Outputs are keyed like their inputs: as many partitions, as many replicas.
    layout = TopicConfig(num_partitions=partitions, replication_factor=events.replication_factor)
    per_key_out = app.topic(f"{app_id}-per-key", key_serializer="str", config=layout)
    per_type_out = app.topic(f"{app_id}-per-type", key_serializer="str", config=layout)

    sdf = app.dataframe(source)
    parsed = sdf.apply(
        lambda raw, key, timestamp, headers: _parse(raw, timestamp, headers, app_id),
        metadata=True,
    )

    stats_holder: list[EventStats] = []

    def count_dead_letter(value: dict[str, Any]) -> None:
        stats_holder[0].dead_lettered += 1
        log.warning("a record that is no event goes to %s: %s", dead_letters.name, value["error"])

    bad = parsed[parsed.apply(lambda value: "error" in value)]
    bad = bad.set_headers(lambda value, key, timestamp, headers: value["headers"])
    bad.update(count_dead_letter).apply(lambda value: value["raw"]).to_topic(dead_letters)

    good = parsed[parsed.apply(lambda value: "event" in value)].apply(lambda v: v["event"])

    def first_time(event: dict[str, Any], state: State[str, Any]) -> bool:
        # The ids seen are kept under the message key: under the event's key (its redeliveries
        # share it, so the partition), and again under its type (keyless ones included).
        seen = f"id:{event['id']}"
        if state.exists(seen):
            return False
        state.set(seen, 1)
        return True

    def first_time_counted(event: dict[str, Any], state: State[str, Any]) -> bool:
        first = first_time(event, state)
        if not first:
            stats_holder[0].duplicates += 1
        return first

    def count_key(event: dict[str, Any], state: State[str, Any]) -> dict[str, Any]:
        before = state.get("stats") or {"count": 0, "last_seen": None}
        last_seen = before["last_seen"]
        context = message_context()
        after = {
            "key": event["key"],
            "count": before["count"] + 1,
            # Out-of-order events count, but do not move last-seen backwards.
            "last_seen": event["occurred_at"]
            if last_seen is None or event["occurred_at_ms"] > before["last_seen_ms"]
            else last_seen,
            "last_seen_ms": max(before.get("last_seen_ms", 0), event["occurred_at_ms"]),
            "last_event": {
                "id": event["id"],
                "topic": context.topic,
                "partition": context.partition,
                "offset": context.offset,
            },
        }
        state.set("stats", after)
        return after

    keyed = good[good.apply(lambda event: event["key"] is not None)]
    keyed.filter(first_time, stateful=True).apply(count_key, stateful=True).to_topic(per_key_out)

    def on_late(  # noqa: PLR0917  # the engine's callback signature
        value: Any,
        key: Any,
        timestamp_ms: int,
        late_by_ms: int,
        start: int,
        end: int,
        store_name: str,
        topic: str,
        partition: int,
        offset: int,
    ) -> bool:
        stats = stats_holder[0]
        stats.late[key] = stats.late.get(key, 0) + 1
        log.warning(
            "an event of type %s is %d ms past its window's grace: not counted", key, late_by_ms
        )
        return False

    by_type = good.group_by(lambda event: event["type"], name="type")
    windows = (
        by_type.filter(first_time_counted, stateful=True)
        .set_timestamp(lambda event, key, timestamp, headers: event["occurred_at_ms"])
        .tumbling_window(
            timedelta(seconds=settings.window_s),
            grace_ms=timedelta(seconds=settings.grace_s),
            name=PER_TYPE,
            on_late=on_late,
        )
        .count()
    )
    window_counts = windows.current()
    window_counts.apply(
        lambda window, key, timestamp, headers: {
            "type": key,
            "window_start": _iso_ms(window["start"]),
            "window_end": _iso_ms(window["end"]),
            "count": window["value"],
        },
        metadata=True,
    ).to_topic(per_type_out)

    stats = EventStats(
        streams,
        settings,
        events_topic,
        partitions,
        by_type.stream_id,
        {PER_KEY: per_key_out.name, PER_TYPE: per_type_out.name},
        StoreReader(app, sdf.stream_id),
        # The window store is named after the window and its aggregation.
        StoreReader(app, by_type.stream_id, windows.name),
    )
    stats_holder.append(stats)
    return stats


def _parse(raw: bytes, timestamp_ms: int, headers: Any, group_id: str) -> dict[str, Any]:
    """``{"event": …}`` for a valid event, else ``{"error": …}`` with its dead-letter headers."""
    try:
        event = EventDto.model_validate_json(raw)
    except ValidationError as exc:
        context = message_context()
        origin = Origin(context.topic, context.partition, context.offset, timestamp_ms)
        original = [(k, bytes(v)) for k, v in (headers or [])]
        return {
            "error": str(exc).splitlines()[0],
            "raw": raw,
            "headers": dead_letter_headers(origin, exc, group_id, original),
        }
    return {
        "event": {
            "id": str(event.id),
            "type": event.type,
            "key": event.key,
            "occurred_at": event.occurred_at.astimezone(UTC).isoformat(),
            "occurred_at_ms": int(event.occurred_at.timestamp() * 1000),
        }
    }
