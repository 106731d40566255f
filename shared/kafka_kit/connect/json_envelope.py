"""Kafka Connect's JSON envelope: ``{"schema": …, "payload": …}`` from ``schemas.enable=true``.

Connect's ``JsonConverter`` writes a record's schema beside its data when ``schemas.enable`` is
on, so that a sink (the JDBC sink) knows the columns; a reader of the same topic wants only the
data.
"""

from __future__ import annotations

from typing import Any

__all__ = ["without_schema"]


def without_schema(document: Any) -> Any:
    """The ``payload`` of Connect's JSON envelope; any other document as it is.

    Args:
        document: A parsed key or value, written by ``JsonConverter`` with or without schemas.
    """
    if isinstance(document, dict) and document.keys() == {"schema", "payload"}:
        return document["payload"]
    return document
