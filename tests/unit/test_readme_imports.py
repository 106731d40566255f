"""Every import in the README's Python snippets resolves, and they use the public API."""

from __future__ import annotations

import ast
import importlib

import pytest

from tests.readme import code_blocks

SNIPPETS = code_blocks("python")


def _imports(source: str) -> list[ast.Import | ast.ImportFrom]:
    tree = compile(source, "README.md", "exec", ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    assert isinstance(tree, ast.Module)
    return [node for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)]


def test_the_readme_has_python_snippets() -> None:
    assert len(SNIPPETS) >= 5


@pytest.mark.parametrize("source", SNIPPETS, ids=lambda s: s.splitlines()[0][:40])
def test_every_import_resolves(source: str) -> None:
    for node in _imports(source):
        if isinstance(node, ast.Import):
            for alias in node.names:
                importlib.import_module(alias.name)
            continue
        assert node.module is not None
        module = importlib.import_module(node.module)
        for alias in node.names:
            assert hasattr(module, alias.name), f"{node.module} has no {alias.name}"


@pytest.mark.parametrize("source", SNIPPETS, ids=lambda s: s.splitlines()[0][:40])
def test_library_imports_come_from_the_package(source: str) -> None:
    # Public API only: the names a package or module lists in ``__all__`` (the root's core API,
    # or a subpackage's), never a private module or a deprecated path.
    for node in _imports(source):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "kafka_kit":
            assert node.module is not None
            assert not any(part.startswith("_") for part in node.module.split("."))
            exported = set(getattr(importlib.import_module(node.module), "__all__", ()))
            assert {a.name for a in node.names} <= exported, node.module
