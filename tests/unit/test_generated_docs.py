"""The generated parts of the documentation are what the code gives now (settings, routes, commands,
modules)."""

from __future__ import annotations

import pytest

from scripts.generated_docs import PARTS, current


@pytest.mark.parametrize("name", sorted(PARTS))
def test_the_generated_part_matches_the_code(name: str) -> None:
    # On failure: ./dev docs rewrites every generated part.
    page, render = PARTS[name]
    assert current(name) == render(), f"{page}: run ./dev docs"
