"""The pictures of the README and the site's pages exist, and are the ones the console's browser
tests take or a benchmark drew (committed with its results)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.readme import PAGES

ROOT = Path(__file__).resolve().parents[2]


def _screenshots_taken() -> set[str]:
    """Every name ``browser.screenshot(...)`` is called with in the console's tests."""
    tree = ast.parse((ROOT / "tests/integration/test_console.py").read_text())
    return {
        str(node.args[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "screenshot"
        and isinstance(node.args[0], ast.Constant)
    }


def _pictures() -> set[str]:
    """Every picture a page shows, as a path from the repository's root."""
    found: set[str] = set()
    for page in PAGES:
        for link in re.findall(r"!\[[^\]]+\]\(([^)]+)\)", page.read_text()):
            found.add((page.parent / link).resolve().relative_to(ROOT).as_posix())
    return found


def test_every_picture_is_a_png_the_browser_tests_take_or_a_benchmark_drew() -> None:
    pictures = _pictures()
    assert any(p.startswith("docs/console/") for p in pictures), "the docs show the console"
    for picture in pictures:
        path = ROOT / picture
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", picture
    taken = _screenshots_taken()
    console = {p for p in pictures if p.startswith("docs/console/")}
    assert {f"docs/console/{name}.png" for name in taken} == console
    plotted = set(pictures) - console
    assert all(p.startswith("bench/results/") for p in plotted), plotted
    for plot in plotted:  # a benchmark's plot sits beside its samples
        assert (ROOT / plot).with_suffix(".json").exists(), plot
