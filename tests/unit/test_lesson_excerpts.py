"""A lesson that shows the Spring peer's code shows it as it is: the page's Java block is the part
of the peer's source between its lesson markers (the peer is built and run by the interop tests)."""

from __future__ import annotations

import textwrap

from tests.readme import ROOT, code_blocks

BILLING = ROOT / "tests/spring_peer/src/main/java/peer/Billing.java"


def excerpt(source: str) -> str:
    """The lines between ``// lesson: begin`` and ``// lesson: end``, dedented."""
    inside = source.split("// lesson: begin\n", 1)[1].split("// lesson: end", 1)[0]
    return textwrap.dedent(inside).rstrip(" ")


def test_the_spring_lessons_java_is_the_peers_code() -> None:
    (shown,) = code_blocks("java", [ROOT / "docs/lessons/spring.md"])
    assert shown == excerpt(BILLING.read_text())


def test_an_edited_excerpt_would_not_match() -> None:
    source = BILLING.read_text()
    assert excerpt(source.replace("setConcurrency(2)", "setConcurrency(3)")) != excerpt(source)
