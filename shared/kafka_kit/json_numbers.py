"""Integers as JSON Schema means them: ``3`` and ``3.0`` are the same integer, ``true`` is none.

Pydantic's lax mode takes ``false`` as 0 and ``"3"`` as 3; its strict mode refuses ``3.0``, which
an OpenAPI ``type: integer`` allows (JSON has one number type: a client that writes every number as
a double, as JavaScript does, sends ``3.0``). :data:`JsonInt` takes exactly what the schema says.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

__all__ = ["JsonInt"]


def _json_integer(value: object) -> object:
    # bool is an int subclass in Python; JSON keeps them apart, and so does the schema.
    if isinstance(value, bool | str | bytes):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value  # anything else: pydantic's own int rules (1.5 is refused there)


JsonInt = Annotated[int, BeforeValidator(_json_integer)]
"""An ``int`` field that accepts what JSON Schema's ``integer`` does, and nothing else."""
