"""Every test can fail: it asserts, expects an exception or warning, or waits for a condition
(``wait_until`` fails with an ``AssertionError`` when the condition never comes). Timings are
the bench's (``bench/``)."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
CHECKS = ("pytest.raises", "pytest.warns", "wait_until", "wait_until_sync", "wait_for")


def unchecked_tests(folder: Path) -> list[str]:
    """``path:line name`` of each test function in ``folder`` that cannot fail."""
    found = []
    for path in sorted(folder.rglob("test_*.py")):
        for node in ast.parse(path.read_text()).body:
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if not node.name.startswith("test_"):
                continue
            asserts = any(isinstance(n, ast.Assert) for n in ast.walk(node))
            calls = {
                ast.unparse(n.func).split(".")[-1]
                if "pytest" not in ast.unparse(n.func)
                else ast.unparse(n.func)
                for n in ast.walk(node)
                if isinstance(n, ast.Call)
            }
            if not asserts and not calls & set(CHECKS):
                found.append(f"{path.relative_to(folder)}:{node.lineno} {node.name}")
    return found


def test_every_test_has_a_check() -> None:
    assert unchecked_tests(TESTS) == []


def test_a_test_that_only_measures_is_found(tmp_path: Path) -> None:
    (tmp_path / "test_x.py").write_text(
        "import time\n\n"
        "def test_measures(report):\n    started = time.monotonic()\n"
        "    report({'s': time.monotonic() - started})\n\n"
        "async def test_waits():\n    await wait_until(lambda: True, 1, 'x')\n\n"
        "def test_raises():\n    with pytest.raises(ValueError):\n        int('x')\n"
    )
    assert unchecked_tests(tmp_path) == ["test_x.py:3 test_measures"]
