"""A module over 400 lines says why in its docstring; otherwise it is split by job."""

from __future__ import annotations

import ast
from pathlib import Path

import kafka_kit

PACKAGE = Path(kafka_kit.__file__).parent
LIMIT = 400


def oversized(package: Path, limit: int = LIMIT) -> list[str]:
    """Modules of ``package`` longer than ``limit`` lines whose docstring gives no reason."""
    found = []
    for path in sorted(package.rglob("*.py")):
        text = path.read_text()
        if text.count("\n") <= limit:
            continue
        doc = ast.get_docstring(ast.parse(text)) or ""
        if f"over {limit} lines because" not in " ".join(doc.split()):
            found.append(path.relative_to(package).as_posix())
    return found


def test_no_module_is_over_400_lines_without_a_reason() -> None:
    assert oversized(PACKAGE) == []


def test_the_check_finds_a_long_module_without_a_reason(tmp_path: Path) -> None:
    body = "\n".join(f"x{i} = {i}" for i in range(LIMIT + 1))
    (tmp_path / "long.py").write_text(f'"""Long."""\n{body}\n')
    (tmp_path / "reasoned.py").write_text(
        f'"""Long.\n\nIt is over {LIMIT} lines because it must be.\n"""\n{body}\n'
    )
    (tmp_path / "short.py").write_text('"""Short."""\nx = 1\n')
    assert oversized(tmp_path) == ["long.py"]
