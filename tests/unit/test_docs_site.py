"""The documentation site builds strictly (no broken link, anchor or API reference), works offline,
and its links work both in the repository and on the site."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.docs_hooks import site_links

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return out, done.stderr


def test_the_site_builds_with_no_warning(site: tuple[Path, str]) -> None:
    out, log = site
    assert "WARNING" not in log, log
    for page in ("index.html", "getting-started.html", "reference/python.html"):
        assert (out / page).is_file(), page
    assert "KafkaTemplate" in (out / "reference" / "python.html").read_text()


def test_the_site_loads_nothing_from_outside(site: tuple[Path, str]) -> None:
    out, _ = site
    remote = re.compile(r"""<(?:script|link|img)[^>]+(?:src|href)=["']https?://""")
    for page in out.rglob("*.html"):
        assert not remote.search(page.read_text()), page


def test_the_home_page_is_the_readme(site: tuple[Path, str]) -> None:
    out, _ = site
    home = (out / "index.html").read_text()
    assert "The five-minute tour" in home and 'href="getting-started.html"' in home


def test_links_are_rewritten_from_the_repositorys_layout_to_the_sites() -> None:
    readme = (
        "[start](docs/getting-started.md#install) ![c](docs/console/groups.png) [x](CHANGELOG.md)"
    )
    assert site_links(readme, ROOT / "README.md", "index.md") == (
        "[start](getting-started.md#install) ![c](console/groups.png) [x](CHANGELOG.md)"
    )
    page = "[r](../../bench/results/a.md) [g](../guides/errors.md) [w](https://kafka.apache.org)"
    assert site_links(
        page, ROOT / "docs/operations/performance.md", "operations/performance.md"
    ) == ("[r](../bench/results/a.md) [g](../guides/errors.md) [w](https://kafka.apache.org)")
