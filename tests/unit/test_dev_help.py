"""``./dev help`` names every subcommand ``./dev`` has."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

DEV = Path(__file__).resolve().parents[2] / "dev"


def subcommands(script: str) -> list[str]:
    """The case labels of ``./dev``'s command switch (``help`` and the catch-all aside)."""
    return [name for name in re.findall(r"^  ([a-z]+)\)$", script, flags=re.M) if name != "help"]


def test_help_lists_every_subcommand() -> None:
    names = subcommands(DEV.read_text())
    assert {
        "demo",
        "test",
        "kafka",
        "lint",
        "bench",
        "lock",
        "docs",
        "screenshots",
        "jaeger",
    } <= set(names)
    shown = subprocess.run(
        ["bash", str(DEV), "help"], capture_output=True, text=True, timeout=30, check=True
    ).stdout
    missing = [name for name in names if f"./dev {name}" not in shown]
    assert not missing, f"./dev help does not name: {missing}"


def test_the_check_notices_a_subcommand_help_leaves_out() -> None:
    script = "case x in\n  demo)\n    ;;\n  secret)\n    ;;\nesac\n"
    assert subcommands(script) == ["demo", "secret"]
