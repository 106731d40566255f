"""README's table of environment variables is the one the settings classes generate."""

from __future__ import annotations

from scripts.settings_table import README, readme_table, render


def test_the_readme_lists_every_setting_as_the_code_declares_it() -> None:
    # On failure: ./dev docs rewrites the table.
    assert readme_table(README.read_text()) == render()
