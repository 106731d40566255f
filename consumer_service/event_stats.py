"""The example topology: event counts per type in tumbling windows, and per key.

    events ──► EventDto? ──► (no: a deserialization failure ─► event-stats-dlt)
                 ├─► too far ahead? (yes: a processing failure ─► event-stats-dlt)
                 ├─► (keyed) drop repeated ids ──► per-key count, last-seen ──► <app>-per-key
                 └─► group by type ──► drop repeated ids ──► 1-minute windows ──► <app>-per-type

State stores (RocksDB, each change written to a compacted changelog topic): the ids seen and the
per-key values live under the event's key in the input stream's store; the ids seen again and the
window counts under the type in the repartitioned stream's stores (so keyless events, spread over
partitions, are deduplicated too). Ids are kept for ``EVENT_STATS_DEDUPE_S`` of record time, a
key's count for ``EVENT_STATS_KEY_RETENTION_S`` after it was last seen: the stores stay bounded
by time, not by how many events ever came. Under exactly-once, store changes, output records and
input offsets commit together in one transaction per checkpoint.

Records that are no event, or whose time lies further ahead than ``EVENT_STATS_MAX_AHEAD_S``,
fail; the stream application's policies send them to its dead-letter topic.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from event_contract.events import EventDto, EventsTopicSettings
from kafka_kit.streams import (
    Application,
    Deserializer,
    State,
    StoreReader,
    StreamsApplication,
    TopicConfig,
    message_context,
)

log = logging.getLogger(__name__)

PER_KEY = "per-key"
PER_TYPE = "per-type"


class LateLog:
    """Late events in one WARNING per interval, not one per event: a backlog read partition by
    partition makes thousands late at once (counted per type in ``GET /streams/event-stats``)."""

    def __init__(
        self, interval_s: float = 10.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.interval_s = interval_s
        self._clock = clock
        self._since = -interval_s
        self._count = 0
        self._latest_ms = 0
        self._types: set[str] = set()

    def note(self, event_type: str, late_by_ms: int) -> None:
        """One more late event; the interval's summary is logged once it is over."""
        self._count += 1
        self._latest_ms = late_by_ms
        self._types.add(event_type)
        now = self._clock()
        if now - self._since < self.interval_s:
            return
        log.warning(
            "%d event(s) of type(s) %s came past their window's grace, not counted (the last "
            "%d ms late)",
            self._count, ", ".join(sorted(self._types)), self._latest_ms,
        )  # fmt: skip
        self._since, self._count, self._types = now, 0, set()


class EventStatsSettings(BaseSettings):
    """The example topology (env ``EVENT_STATS_*``)."""

    model_config = SettingsConfigDict(env_prefix="EVENT_STATS_", extra="ignore")

    enabled: bool = Field(default=True, description="run the example stream topology")
    window_s: int = Field(default=60, gt=0, description="the per-type tumbling window's size")
    grace_s: int = Field(
        default=30, ge=0, description="how late (by event time) a record may still be counted"
    )
    max_ahead_s: int = Field(
        default=300,
        gt=0,
        description="an event that says it happens further ahead than this is dead-lettered: it "
        "would move stream time past every later event's window",
    )
    dedupe_s: int = Field(
        default=3600,
        gt=0,
        description="how long (record time) an event id is remembered to drop its repeats; a "
        "repeat later than that is counted again",
    )
    key_retention_s: int = Field(
        default=7 * 24 * 3600,
        gt=0,
        description="a key unseen this long (record time) is forgotten: its count starts over",
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
    """Declare the topology on ``streams`` (it runs once ``streams`` starts, and again on each
    engine a restart makes)."""
    app_id = streams.application_id
    per_key_out = f"{app_id}-per-key"
    per_type_out = f"{app_id}-per-type"
    stats = EventStats(
        streams,
        settings,
        events.topic,
        events.partitions,
        by_type_topic="",
        output_topics={PER_KEY: per_key_out, PER_TYPE: per_type_out},
        per_key=StoreReader(streams, ""),
        per_type=StoreReader(streams, ""),
    )
    dedupe = timedelta(seconds=settings.dedupe_s)
    key_retention = timedelta(seconds=settings.key_retention_s)
    max_ahead_ms = settings.max_ahead_s * 1000

    def declare(app: Application) -> None:
        source = app.topic(events.topic, key_deserializer="str", value_deserializer=_Events())
        # Outputs are keyed like their inputs: as many partitions, as many replicas.
        layout = TopicConfig(
            num_partitions=events.partitions, replication_factor=events.replication_factor
        )
        per_key = app.topic(per_key_out, key_serializer="str", config=layout)
        per_type = app.topic(per_type_out, key_serializer="str", config=layout)
        sdf = app.dataframe(source).update(lambda event: _not_too_far_ahead(event, max_ahead_ms))

        def first_time(event: dict[str, Any], state: State[str, Any]) -> bool:
            # The ids seen are kept under the message key: under the event's key (its
            # redeliveries share it, so the partition), and again under its type (keyless ones
            # included) — each for `dedupe` of record time, then forgotten (bounded stores).
            seen = f"id:{event['id']}"
            if state.exists(seen):
                return False
            state.set(seen, 1, ttl=dedupe)
            return True

        def first_time_counted(event: dict[str, Any], state: State[str, Any]) -> bool:
            first = first_time(event, state)
            if not first:
                stats.duplicates += 1
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
            state.set("stats", after, ttl=key_retention)
            return after

        keyed = sdf[sdf.apply(lambda event: event["key"] is not None)]
        keyed.filter(first_time, stateful=True).apply(count_key, stateful=True).to_topic(per_key)

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
            stats.late[key] = stats.late.get(key, 0) + 1
            late_log.note(key, late_by_ms)
            return False

        late_log = LateLog()
        by_type = sdf.group_by(lambda event: event["type"], name="type")
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
        windows.current().apply(
            lambda window, key, timestamp, headers: {
                "type": key,
                "window_start": _iso_ms(window["start"]),
                "window_end": _iso_ms(window["end"]),
                "count": window["value"],
            },
            metadata=True,
        ).to_topic(per_type)
        # The stores' names come from the streams they belong to (the same on every engine).
        stats.by_type_topic = by_type.stream_id
        stats.per_key = StoreReader(streams, sdf.stream_id)
        # The window store is named after the window and its aggregation.
        stats.per_type = StoreReader(streams, by_type.stream_id, windows.name)

    streams.declare(declare)
    return stats


class _Events(Deserializer):
    """A record's value as the event it must be (not one: a deserialization failure)."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # Quix declares no types there

    def __call__(self, value: bytes, ctx: Any) -> dict[str, Any]:
        event = EventDto.model_validate_json(value)
        return {
            "id": str(event.id),
            "type": event.type,
            "key": event.key,
            "occurred_at": event.occurred_at.astimezone(UTC).isoformat(),
            "occurred_at_ms": event.occurred_at_ms(),
        }


def _not_too_far_ahead(event: dict[str, Any], max_ahead_ms: int) -> None:
    """A processing failure for an event whose time would wreck the windows."""
    ahead_ms = event["occurred_at_ms"] - int(time.time() * 1000)
    if ahead_ms > max_ahead_ms:
        raise ValueError(
            f"event {event['id']} says it happens {ahead_ms // 1000} s from now, more than "
            f"EVENT_STATS_MAX_AHEAD_S={max_ahead_ms // 1000}: counted in its window, it would "
            "move stream time past every later event's window"
        )
