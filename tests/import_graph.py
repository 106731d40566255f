"""The import graph of a package, drawn from its source: which module imports which.

Every import counts — at module level, inside functions, under ``if TYPE_CHECKING:`` — because a
circle hidden in any of them is still a knot in the design. The one exception is a module-level
``__getattr__`` (PEP 562): it serves deprecated aliases and runs only when an old name is asked for.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

__all__ = ["circles", "import_graph"]


def _modules(package: Path) -> dict[str, Path]:
    found = {}
    for path in package.rglob("*.py"):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _imported(name: str, path: Path, modules: dict[str, Path]) -> Iterator[str]:
    root = name.split(".", maxsplit=1)[0]
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(), str(path))
    nodes = [
        node
        for node in tree.body
        if not (isinstance(node, ast.FunctionDef) and node.name == "__getattr__")
    ]
    for top in nodes:
        for node in ast.walk(top):
            if isinstance(node, ast.Import):
                yield from (alias.name for alias in node.names if alias.name.split(".")[0] == root)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    here = name.split(".") if is_package else name.split(".")[:-1]
                    here = here[: len(here) - (node.level - 1)]
                    base = ".".join([*here, base] if base else here)
                if base.split(".")[0] != root:
                    continue
                for alias in node.names:
                    submodule = f"{base}.{alias.name}"
                    yield submodule if submodule in modules else base


def import_graph(package: Path) -> dict[str, set[str]]:
    """Each module of ``package`` (a source folder) and the package modules it imports."""
    modules = _modules(package)
    return {
        name: {target for target in _imported(name, path, modules) if target in modules} - {name}
        for name, path in modules.items()
    }


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in sorted(graph[module]):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found
