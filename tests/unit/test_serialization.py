import pytest
from pydantic import BaseModel

from event_contract.events import EventDto
from kafka_kit.errors import DeserializationError
from kafka_kit.serialization import deserialize_value, serialize_key, serialize_value


class Point(BaseModel):
    x: int
    y: int


def test_values_serialize_by_type() -> None:
    assert serialize_value(b"\x00raw") == b"\x00raw"
    assert serialize_value("text é") == "text é".encode()
    assert serialize_value(None) is None
    assert serialize_value(Point(x=1, y=2)) == b'{"x":1,"y":2}'
    assert serialize_value({"a": [1, 2]}) == b'{"a":[1,2]}'


def test_keys_are_str_or_bytes() -> None:
    assert serialize_key("k") == b"k"
    assert serialize_key(b"k") == b"k"
    assert serialize_key(None) is None
    with pytest.raises(TypeError):
        serialize_key(42)  # type: ignore[arg-type]


def test_deserialize_to_declared_types() -> None:
    assert deserialize_value(b'{"x":1,"y":2}', Point) == Point(x=1, y=2)
    assert deserialize_value(b'{"a":1}', dict) == {"a": 1}
    assert deserialize_value(b"abc", str) == "abc"
    assert deserialize_value(b"abc", bytes) == b"abc"
    assert deserialize_value(b"[1,2]", list[int]) == [1, 2]
    event = EventDto(type="t", source="s")
    assert deserialize_value(serialize_value(event), EventDto) == event


@pytest.mark.parametrize(
    ("raw", "target"),
    [
        (b"{not json", Point),
        (b'{"x":"a","y":2}', Point),
        (b"", Point),
        (None, Point),
        (b"\xff", str),
    ],
)
def test_bad_values_raise_with_the_raw_bytes(raw: bytes | None, target: type) -> None:
    with pytest.raises(DeserializationError) as raised:
        deserialize_value(raw, target)
    assert raised.value.raw == raw
