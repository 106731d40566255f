"""Settings as environment variables: which variable a field reads, and what is wrong with one.

pydantic reports a bad value as a validation error of a model field, with a traceback. A person
who set ``KAFKA_PRODUCER_ACKS=7`` wants one line naming that variable: :func:`invalid_settings`
gives those lines for any pydantic-settings classes, and :func:`exit_if_invalid` prints them and
exits with status 2 (a usage error), as entry points should before they start anything.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, NoReturn, TextIO

from pydantic import ValidationError
from pydantic_core import ErrorDetails, PydanticUndefined
from pydantic_settings import BaseSettings
from pydantic_settings import SettingsError as _SourceError

__all__ = ["SettingRow", "env_name", "exit_if_invalid", "invalid_settings", "setting_rows"]

_PARSE_FAILURE = re.compile(r'error parsing value for field "(?P<field>[^"]+)"')


def env_name(settings: type[BaseSettings], field: str) -> str:
    """The environment variable that sets ``field`` of ``settings`` (prefix + name, upper case)."""
    prefix = str(settings.model_config.get("env_prefix", ""))
    return f"{prefix}{field}".upper()


def _nested(settings: type[BaseSettings]) -> dict[str, Any]:
    """Placeholders for fields that are settings classes themselves: they are checked on their
    own, so that one bad nested variable does not hide the outer class's own errors."""
    return {
        name: annotation.model_construct()
        for name, field in settings.model_fields.items()
        if isinstance(annotation := field.annotation, type) and issubclass(annotation, BaseSettings)
    }


def _reason(error: ErrorDetails) -> str:
    """pydantic's message, said as a requirement: "must be 0, 1 or all"."""
    if error["type"] == "literal_error" and "ctx" in error:
        return "must be " + str(error["ctx"]["expected"]).replace("'", "")
    message = str(error["msg"]).removeprefix("Value error, ")
    if message.startswith("Input should be "):
        return "must be " + message.removeprefix("Input should be ")
    return message[:1].lower() + message[1:]


def _problems(settings: type[BaseSettings]) -> Iterator[str]:
    try:
        settings(**_nested(settings))
    except ValidationError as exc:
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else ""
            name = env_name(settings, field)
            given = os.environ.get(name, error.get("input"))
            yield f"{name}={given}: {_reason(error)}"
    except _SourceError as exc:  # a complex value (JSON) that does not parse
        found = _PARSE_FAILURE.search(str(exc))
        name = env_name(settings, found["field"]) if found else settings.__name__
        yield f"{name}={os.environ.get(name, '')}: not valid JSON ({exc.__cause__ or exc})"


def invalid_settings(*settings: type[BaseSettings]) -> list[str]:
    """One line per bad environment variable read by ``settings`` (and settings nested in them):
    ``NAME=value: what is wrong``. Empty when every class can be built.

    Args:
        settings: Settings classes to build from the environment.
    """
    lines: list[str] = []
    for cls in _with_nested(settings):
        lines += [line for line in _problems(cls) if line not in lines]
    return lines


def _with_nested(settings: Iterable[type[BaseSettings]]) -> list[type[BaseSettings]]:
    found: list[type[BaseSettings]] = []
    for cls in settings:
        for inner in [cls, *(type(value) for value in _nested(cls).values())]:
            if inner not in found:
                found.append(inner)
    return found


def exit_if_invalid(*settings: type[BaseSettings], stream: TextIO | None = None) -> None:
    """Print every bad variable of ``settings`` on a line of its own and exit with status 2.

    Args:
        settings: Settings classes to build from the environment.
        stream: Where the lines go (standard error when omitted).
    """
    lines = invalid_settings(*settings)
    if lines:
        _exit(lines, stream or sys.stderr)


def _exit(lines: list[str], stream: TextIO) -> NoReturn:
    for line in lines:
        print(line, file=stream)
    raise SystemExit(2)


@dataclass(frozen=True)
class SettingRow:
    """One environment variable: its name, its default as text, and what it means."""

    name: str
    """The variable's name."""
    default: str
    """Its default, as text."""
    meaning: str
    """What it sets."""


def setting_rows(*settings: type[BaseSettings]) -> list[SettingRow]:
    """Every variable that ``settings`` (and settings nested in them) read, in declaration order.

    Args:
        settings: Settings classes.
    """
    rows: list[SettingRow] = []
    for cls in _with_nested(settings):
        nested = _nested(cls)
        for field_name, field in cls.model_fields.items():
            if field_name in nested:
                continue
            default = field.get_default(call_default_factory=True)
            rows.append(
                SettingRow(env_name(cls, field_name), _as_text(default), field.description or "")
            )
    return rows


def _as_text(value: Any) -> str:
    """A default as one would write it in the environment."""
    if value is PydanticUndefined:
        return "(required)"
    if value is None or value in ([], {}):
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
