"""Kafka's rules for topic names, checked wherever a name is accepted (config, query, path)."""

from __future__ import annotations

import re

__all__ = ["TOPIC_NAME_PATTERN", "topic_name_problem"]

TOPIC_NAME_PATTERN = r"^[a-zA-Z0-9._-]{1,249}$"
"""ASCII letters, digits, ``.``, ``_`` and ``-``; 1 to 249 of them (Kafka's ``Topic.validate``)."""


def topic_name_problem(name: str) -> str | None:
    """Why Kafka would refuse ``name`` as a topic, or ``None`` when it is a valid name.

    Args:
        name: A topic name.
    """
    if name in (".", ".."):
        return f"{name!r} is not a topic name"
    if re.fullmatch(TOPIC_NAME_PATTERN, name) is None:
        return (
            f"{name[:60]!r} is not a valid Kafka topic name: 1 to 249 ASCII letters, digits, "
            "'.', '_' or '-'"
        )
    return None
