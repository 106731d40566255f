"""The README's code blocks, for the tests that check them."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def code_blocks(language: str) -> list[str]:
    """Every fenced block of ``language`` in the README, in order."""
    text = README.read_text()
    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.S | re.M)


def block_starting_with(language: str, first_line: str) -> str:
    """The one block whose first line is ``first_line``."""
    (found,) = [b for b in code_blocks(language) if b.splitlines()[0] == first_line]
    return found


def console_examples() -> list[tuple[str, str]]:
    """Every ``$ command`` of the README's console blocks with the output shown after it."""
    examples: list[tuple[str, str]] = []
    for block in code_blocks("console"):
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
