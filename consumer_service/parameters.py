"""The consumer service's path and query parameters, described once with examples for OpenAPI."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Path, Query

from kafka_kit.topic_names import TOPIC_NAME_PATTERN

ListenerId = Annotated[
    str,
    Path(
        description="A listener's id: `@kafka_listener(id=...)`, by default the function's name; "
        "a retry topic's containers are `<id>-retry-<delay ms>`.",
        examples=["event_log"],
    ),
]
ClusterName = Annotated[
    str,
    Path(
        description="A watched cluster's name: a key of `LAG_CLUSTERS`, `local` by default.",
        examples=["local"],
    ),
]
GroupId = Annotated[str, Path(description="A consumer group id.", examples=["event-log"])]
TopicName = Annotated[
    str,
    Path(
        description="A topic name (Kafka's rules: 1 to 249 of `a-zA-Z0-9._-`).",
        examples=["events"],
        pattern=TOPIC_NAME_PATTERN,
    ),
]
DeadLetterTopic = Annotated[
    str,
    Path(
        description="A topic (its dead-letter topic `<topic>-dlt` is meant) or the dead-letter "
        "topic itself (Kafka's rules: 1 to 249 of `a-zA-Z0-9._-`).",
        examples=["events"],
        pattern=TOPIC_NAME_PATTERN,
    ),
]
EventId = Annotated[
    UUID,
    Path(
        description="An event's id, as the producer answered it.",
        examples=["bcf0d9bf-6341-4420-9c59-17a02d8101bc"],
    ),
]
EventType = Annotated[
    str | None, Query(description="Only events of this `type`.", examples=["order.created"])
]
Limit = Annotated[int, Query(ge=1, le=1000, description="At most this many.", examples=[10])]
