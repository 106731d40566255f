"""Type headers, as Spring's JSON (de)serializers use them: ``__TypeId__`` ↔ a pydantic model.

Spring's ``JsonSerializer`` tells a record's type in a ``__TypeId__`` header — the Java class name,
or a token when ``spring.json.type.mapping`` maps one (``event:com.example.EventDto``). With the
same tokens on both sides, several event types share one topic: the template writes the token of
a mapped value's type, and a listener picks the model to validate into by the incoming token.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from kafka_kit import headers as h

__all__ = ["TypeMapping"]


class TypeMapping:
    """Tokens for types and back: ``TypeMapping({"event": EventDto, "refund": RefundDto})``.

    Args:
        mapping: Token → type (``{"event": EventDto}``).
    """

    def __init__(self, mapping: Mapping[str, type[Any]]) -> None:
        self.types: dict[str, type[Any]] = dict(mapping)
        self.tokens: dict[type[Any], str] = {kind: token for token, kind in mapping.items()}
        if len(self.tokens) != len(self.types):
            raise ValueError("a type may have one token only")

    @classmethod
    def of(cls, mapping: TypeMapping | Mapping[str, type[Any]] | None) -> TypeMapping | None:
        """``mapping`` as a :class:`TypeMapping` (``None`` stays ``None``).

        Args:
            mapping: A mapping, a ``TypeMapping``, or ``None``.
        """
        if mapping is None or isinstance(mapping, TypeMapping):
            return mapping
        return cls(mapping)

    @classmethod
    def parse(cls, spec: str, types: Iterable[type[Any]]) -> TypeMapping:
        """From Spring's property syntax (``"event:EventDto, refund:RefundDto"``) over ``types``.

        Args:
            spec: ``token:ClassName`` pairs, comma-separated.
            types: The classes the names may refer to.
        """
        by_name = {kind.__name__: kind for kind in types}
        mapping = {}
        for entry in filter(None, (part.strip() for part in spec.split(","))):
            token, _, name = entry.partition(":")
            simple = name.strip().rsplit(".", 1)[-1]
            if simple not in by_name:
                raise ValueError(f"type mapping {entry!r}: no type named {simple!r} given")
            mapping[token.strip()] = by_name[simple]
        return cls(mapping)

    def header_for(self, value: Any) -> tuple[str, bytes] | None:
        """The ``__TypeId__`` header for ``value``, when its type is mapped.

        Args:
            value: The value being sent.
        """
        token = self.tokens.get(type(value))
        return (h.TYPE_ID, token.encode()) if token is not None else None

    def type_of(self, headers: Iterable[tuple[str, bytes]]) -> tuple[str | None, type[Any] | None]:
        """The incoming token (``None``: no type header) and the type it maps to (or ``None``).

        Args:
            headers: A record's headers.
        """
        raw = h.last(headers, h.TYPE_ID)
        if raw is None:
            return None, None
        token = raw.decode(errors="replace")
        return token, self.types.get(token)
