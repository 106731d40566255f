"""The AsyncAPI project's own parser (``@asyncapi/parser``, what its CLI validates with), installed
from the npm registry once into the launcher's cache, to validate the documents the kit makes."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

from kafka_kit.local_kafka.artifacts import cache_root

HERE = Path(__file__).resolve().parent / "asyncapi"
FILES = ("package.json", "validate.mjs")


def _installed() -> Path:
    """The validator's folder, installed when its package.json or script changed."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        if os.environ.get("CI"):
            pytest.fail("CI must validate the AsyncAPI documents: install Node.js and npm")
        pytest.skip("Node.js and npm are not installed here")
    digest = hashlib.sha256(b"".join((HERE / name).read_bytes() for name in FILES)).hexdigest()
    folder = cache_root() / f"asyncapi-parser-{digest[:12]}"
    if not (folder / "node_modules" / "@asyncapi" / "parser").is_dir():
        folder.mkdir(parents=True, exist_ok=True)
        for name in FILES:
            shutil.copy(HERE / name, folder / name)
        done = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, f"npm install of @asyncapi/parser failed:\n{done.stderr}"
    return folder


def validate(documents: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Each document's verdict and diagnostics from ``@asyncapi/parser``, by name."""
    folder = _installed()
    with tempfile.TemporaryDirectory(prefix="asyncapi-") as scratch:
        files = {}
        for name, document in documents.items():
            path = Path(scratch) / f"{name}.json"
            path.write_text(json.dumps(document))
            files[str(path)] = name
        done = subprocess.run(
            ["node", "validate.mjs", *files],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.stdout.strip(), done.stderr
    report = json.loads(done.stdout)
    return {files[path]: verdict for path, verdict in report.items()}


def errors(verdict: dict[str, Any]) -> list[str]:
    """The parser's errors (severity 0) of one verdict, as ``path: message`` lines."""
    return [f"{d['path']}: {d['message']}" for d in verdict["diagnostics"] if d["severity"] == 0]
