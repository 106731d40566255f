import re
from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from event_contract.events import OCCURRED_AT_PATTERN, EventDto


def test_id_and_occurred_at_are_generated() -> None:
    before = datetime.now(UTC)
    event = EventDto(type="t", source="s")
    assert isinstance(event.id, UUID)
    assert event.occurred_at.tzinfo is not None
    assert before <= event.occurred_at <= datetime.now(UTC)
    assert event.key is None
    assert event.payload == {}
    assert EventDto(type="t", source="s").id != event.id


def test_json_round_trip_is_exact() -> None:
    event = EventDto(
        type="order.created",
        source="checkout",
        key="k",
        payload={"a": [1, 2.5, None, {"b": "ü"}]},
        occurred_at=datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=timezone(timedelta(hours=-5))),
    )
    again = EventDto.model_validate_json(event.model_dump_json())
    assert again == event
    assert again.occurred_at.utcoffset() == timedelta(hours=-5)


@pytest.mark.parametrize(
    ("body", "error_type"),
    [
        ({"source": "s"}, "missing"),
        ({"type": "", "source": "s"}, "string_too_short"),
        ({"type": "t", "source": "s", "unknown": 1}, "extra_forbidden"),
        ({"type": "t", "source": "s", "occurred_at": "2026-01-01T00:00:00"}, "timezone_aware"),
        ({"type": "t", "source": "s", "payload": [1, 2]}, "dict_type"),
        ({"type": "t", "source": "s", "id": "not-a-uuid"}, "uuid_parsing"),
    ],
)
def test_invalid_events_are_rejected(body: dict[str, object], error_type: str) -> None:
    with pytest.raises(ValidationError) as raised:
        EventDto.model_validate(body)
    assert error_type in {e["type"] for e in raised.value.errors()}


@pytest.mark.parametrize(
    "occurred_at",
    [
        "1969-12-31T23:59:59.999Z",  # before the epoch: a negative Kafka timestamp
        "0001-01-01T00:00:00Z",
        "0001-01-01T00:00:00+01:00",  # year 0 in UTC: not even a Python datetime
        "1970-01-01T00:30:00+01:00",
        "9999-12-31T23:59:59-05:00",  # year 10000 in UTC
        # On the edge days only offsets that point into the range, as the stated pattern says.
        "1970-01-01T01:00:00+01:00",
    ],
)
def test_occurred_at_outside_what_a_kafka_timestamp_holds_is_refused(occurred_at: str) -> None:
    with pytest.raises(ValidationError) as raised:
        EventDto.model_validate({"type": "t", "source": "s", "occurred_at": occurred_at})
    (error,) = raised.value.errors()
    assert error["type"] == "occurred_at_range"
    assert "1970-01-01T00:00:00Z" in error["msg"] and "9999-12-31T23:59:59.999Z" in error["msg"]


@pytest.mark.parametrize(
    "occurred_at",
    ["1970-01-01T00:00:00Z", "1970-01-01T00:00:00-00:00", "1970-01-01T00:00:00-05:00",
     "1970-01-02T00:30:00+01:00", "5000-01-01T00:00:00Z", "9999-12-30T23:59:59.999-01:00",
     "9999-12-31T23:59:59.999Z", "9999-12-31T23:59:59.999+00:00", "9999-12-31T23:00:00+05:00"],
)  # fmt: skip
def test_every_instant_a_kafka_timestamp_holds_is_accepted(occurred_at: str) -> None:
    event = EventDto.model_validate({"type": "t", "source": "s", "occurred_at": occurred_at})
    assert event.occurred_at_ms() >= 0
    assert EventDto.model_validate_json(event.model_dump_json()) == event


def test_the_schema_states_the_range_as_a_pattern_the_validator_keeps() -> None:
    schema = EventDto.model_json_schema()["properties"]["occurred_at"]
    assert (schema["format"], schema["pattern"]) == ("date-time", OCCURRED_AT_PATTERN)


@settings(max_examples=300, derandomize=True)
@given(moment=st.datetimes(), offset_minutes=st.integers(-1439, 1439))
def test_the_pattern_says_exactly_which_instants_are_accepted(
    moment: datetime, offset_minutes: int
) -> None:
    # Any RFC 3339 string: it matches the pattern if and only if the event is accepted.
    zone = timezone(timedelta(minutes=offset_minutes))
    written = moment.replace(tzinfo=zone).isoformat()
    matches = re.match(OCCURRED_AT_PATTERN, written) is not None
    try:
        EventDto.model_validate({"type": "t", "source": "s", "occurred_at": written})
    except ValidationError:
        accepted = False
    else:
        accepted = True
    assert matches == accepted, written
