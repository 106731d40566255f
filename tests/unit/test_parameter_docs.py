"""Public callables document their parameters (``Args:``) for the generated API reference."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.parameter_docs import undocumented
from tests.unit.test_library_boundary import PUBLIC

MODULES = ["kafka_kit", *PUBLIC]
"""The root and every public module (no ``_`` in its path, not a deprecated alias)."""


@pytest.mark.parametrize("module", MODULES)
def test_every_parameter_of_the_public_api_is_documented(module: str) -> None:
    assert undocumented(module) == {}


def test_the_check_finds_a_parameter_without_a_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    source = '''
from dataclasses import dataclass

def good(topic: str, *, key: bytes | None = None) -> None:
    """Send.

    Args:
        topic: Where.
        key: The key.
    """

def bad(topic: str, key: bytes) -> None:
    """Send.

    Args:
        topic: Where; key is mentioned here, which is not a line of its own.
    """

@dataclass
class Shape:
    """A shape."""

    sides: int
    """How many."""
    colour: str = "red"

class Thing:
    """A thing.

    Args:
        name: Its name.
    """

    def __init__(self, name: str, size: int) -> None:
        self.name = name

    def grow(self, by: int) -> None:
        """Grow ``by``."""
'''
    (tmp_path / "fake_docs.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "fake_docs", raising=False)
    found = undocumented("fake_docs", ["good", "bad", "Shape", "Thing"])
    assert found == {
        "fake_docs.bad": ["key"],
        "fake_docs.Shape": ["colour"],
        "fake_docs.Thing": ["size"],
        "fake_docs.Thing.grow": ["by"],
    }
