"""MkDocs hooks: the README is the site's home page, and links work both in the repository and on
the site.

Every page links as the repository lays files out, so the links work where the repository is
browsed: the README into ``docs/``, the performance page up to ``bench/results/``. On the site the
README becomes ``index.md`` inside ``docs/``, and the changelog and the committed bench results,
which live outside ``docs/``, are added as files of the site under their own paths; each link is
rewritten to where its target is on the site, so the strict build checks it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
RESULTS = ROOT / "bench" / "results"
LINK = re.compile(r"\]\(([^)\s#]+)((?:#[^)\s]*)?)\)")


def site_links(markdown: str, source: Path, on_site: str) -> str:
    """``markdown`` of the repository file ``source`` with its links rewritten for the site.

    Args:
        markdown: The page's text.
        source: The file it comes from, in the repository.
        on_site: Its path on the site (``index.md`` for the README).
    """

    def rewrite(link: re.Match[str]) -> str:
        target, anchor = link.group(1), link.group(2)
        if ":" in target or target.startswith("/"):
            return link.group(0)  # a URL, or absolute: left for the build to judge
        path = (source.parent / target).resolve()
        if not path.is_relative_to(ROOT):
            return link.group(0)
        inside = path.relative_to(DOCS) if path.is_relative_to(DOCS) else path.relative_to(ROOT)
        relative = os.path.relpath(inside, Path(on_site).parent).replace(os.sep, "/")
        return f"]({relative}{anchor})"

    return LINK.sub(rewrite, markdown)


def on_files(files: Files, config: Any) -> Files:
    """Add the changelog and the committed bench results to the site's files."""
    results = [p for p in sorted(RESULTS.rglob("*")) if p.suffix in {".md", ".png", ".json"}]
    for path in [ROOT / "CHANGELOG.md", *results]:
        relative = path.relative_to(ROOT).as_posix()
        files.append(File(relative, str(ROOT), config["site_dir"], config["use_directory_urls"]))
    return files


def on_page_markdown(markdown: str, page: Page, config: Any, files: Files) -> str:
    """Serve the README as ``index.md``; rewrite every page's links for the site."""
    uri = page.file.src_uri
    if uri == "index.md":
        return site_links((ROOT / "README.md").read_text(), ROOT / "README.md", uri)
    source = Path(page.file.abs_src_path or DOCS / uri)
    return site_links(markdown, source, uri)
