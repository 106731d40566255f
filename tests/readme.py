"""The code blocks of the README and of the site's pages, for the tests that run them."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").rglob("*.md"))]
"""The README first (its first example is the first a reader meets), then the site's pages."""
CONNECT_DEMO = "<!-- console blocks: ./dev demo --connect -->"
"""A page holding this runs its console blocks against the demo with Kafka Connect."""


def code_blocks(language: str, pages: list[Path] | None = None) -> list[str]:
    """Every fenced block of ``language`` in ``pages`` (the README and the site's), in order."""
    pattern = rf"^```{language}\n(.*?)^```"
    return [
        block
        for page in (PAGES if pages is None else pages)
        for block in re.findall(pattern, page.read_text(), flags=re.S | re.M)
    ]


def block_starting_with(language: str, first_line: str) -> str:
    """The one block whose first line is ``first_line``."""
    (found,) = [b for b in code_blocks(language) if b.splitlines()[0] == first_line]
    return found


def console_examples(*, connect: bool = False) -> list[tuple[str, str]]:
    """Every ``$ command`` of the console blocks with the output shown after it: of the pages
    for the plain demo, or (``connect``) of those marked with :data:`CONNECT_DEMO`."""
    pages = [page for page in PAGES if (CONNECT_DEMO in page.read_text()) == connect]
    examples: list[tuple[str, str]] = []
    for block in code_blocks("console", pages):
        command: list[str] = []
        output: list[str] = []
        for line in block.splitlines():
            if line.startswith("$ "):
                if command:
                    examples.append(("\n".join(command), "\n".join(output)))
                command, output = [line[2:]], []
            elif command and command[-1].endswith("\\") and not output:
                command.append(line)
            else:
                output.append(line)
        if command:
            examples.append(("\n".join(command), "\n".join(output)))
    return examples
