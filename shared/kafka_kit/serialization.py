"""Turn values into record bytes and record bytes back into what a handler asks for."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic_core import PydanticSerializationError, to_json

from kafka_kit.errors import DeserializationError

__all__ = ["converter", "deserialize_value", "serialize_key", "serialize_value"]


JSON_CONTENT_TYPE = b"application/json"


def serialize_value(value: Any) -> bytes | None:
    """Pydantic models and JSON-able objects become JSON; ``bytes``/``str`` pass through.

    Args:
        value: The value.
    """
    if value is None or isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, BaseModel):
        # The model's own serializer writes UTF-8 bytes: the same JSON as model_dump_json(),
        # without decoding it to str and encoding it back (a third of the cost at 1 KB).
        return value.__pydantic_serializer__.to_json(value)
    try:
        # pydantic's encoder knows datetimes, UUIDs, decimals, dataclasses…; anything else is an
        # error, never its repr() sent as a string.
        return to_json(value)
    except PydanticSerializationError as exc:
        raise TypeError(f"a {type(value).__name__} is not JSON serializable: {exc}") from exc


def serialize_key(key: str | bytes | None) -> bytes | None:
    """Keys are ``str`` (UTF-8) or ``bytes``; ``None`` means no key.

    Args:
        key: The key.
    """
    if key is None or isinstance(key, bytes):
        return key
    if isinstance(key, str):
        return key.encode()
    raise TypeError(f"a record key must be str or bytes, not {type(key).__name__}")


def deserialize_value(raw: bytes | None, target: Any) -> Any:
    """Convert a record's raw value into ``target``: a model, ``bytes``, ``str``, ``dict``, ….

    Args:
        raw: The record's value.
        target: The type to convert to.
    """
    return converter(target)(raw)


def converter(target: Any) -> Callable[[bytes | None], Any]:
    """A function turning raw values into ``target`` (decided once, applied per record).

    Args:
        target: The handler parameter's type.
    """
    if target is bytes or target is Any:
        return _identity
    if target is str:
        return _text
    parse: Callable[[bytes], Any]
    if isinstance(target, type) and issubclass(target, BaseModel):
        parse = target.model_validate_json
    else:
        parse = _adapter(target).validate_json
    name = getattr(target, "__name__", str(target))

    def convert(raw: bytes | None) -> Any:
        if raw is None:
            raise DeserializationError("the record has no value (a tombstone)", raw)
        try:
            return parse(raw)
        except ValueError as exc:
            raise DeserializationError(f"the value is not a valid {name}: {exc}", raw) from exc

    return convert


def _identity(raw: bytes | None) -> bytes | None:
    return raw


def _text(raw: bytes | None) -> str:
    if raw is None:
        raise DeserializationError("the record has no value (a tombstone)", raw)
    try:
        return raw.decode()
    except UnicodeDecodeError as exc:
        raise DeserializationError(f"the value is not UTF-8: {exc}", raw) from exc


_adapters: dict[Any, TypeAdapter[Any]] = {}


def _adapter(target: Any) -> TypeAdapter[Any]:
    adapter = _adapters.get(target)
    if adapter is None:
        adapter = _adapters[target] = TypeAdapter(target)
    return adapter
