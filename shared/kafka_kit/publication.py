"""``Publication``: what a program sends to a topic, declared for its AsyncAPI document."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Publication"]


@dataclass(frozen=True)
class Publication:
    """What a program sends to a topic, declared for its AsyncAPI document (it sends nothing)."""

    topic: str
    """Where the records go."""
    payload: Any
    """The value's type: a pydantic model, a dataclass, ``dict``, ``str``, ``bytes``…"""
    summary: str = ""
    """One line on what is sent and when."""
