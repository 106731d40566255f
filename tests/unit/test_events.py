from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID

import pytest
from pydantic import ValidationError

from producer_service.events import EventDto


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
