"""The contract the two example services share: the event schema and its topic."""

from event_contract.events import (
    OCCURRED_AT_MAX_MS,
    OCCURRED_AT_MIN_MS,
    OCCURRED_AT_PATTERN,
    OCCURRED_AT_RANGE,
    EventDto,
    EventsTopicSettings,
)

__all__ = [
    "OCCURRED_AT_MAX_MS",
    "OCCURRED_AT_MIN_MS",
    "OCCURRED_AT_PATTERN",
    "OCCURRED_AT_RANGE",
    "EventDto",
    "EventsTopicSettings",
]
