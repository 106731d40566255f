"""No import circles in the library, none hidden in functions or type-checking blocks."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.import_graph import circles, import_graph

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = ROOT / "shared" / "kafka_kit"


def test_the_library_has_no_import_circles() -> None:
    graph = import_graph(LIBRARY)
    assert len(graph) > 50  # the whole package was read
    assert circles(graph) == []


def test_a_circle_is_found_wherever_its_import_hides(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg.b import thing\n")
    (package / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.c import other\n"
    )
    (package / "c.py").write_text("def late():\n    from . import a\n")
    (package / "d.py").write_text(
        "def __getattr__(name):\n    from pkg.e import old\n    return old\n"
    )
    (package / "e.py").write_text("import pkg.d\n")
    assert circles(import_graph(package)) == [["pkg.a", "pkg.b", "pkg.c"]]


def test_the_moved_decorator_keeps_its_old_paths_with_a_deprecation_warning() -> None:
    import kafka_kit
    import kafka_kit.listener
    import kafka_kit.listener.endpoint
    import kafka_kit.template

    for module in (kafka_kit.listener, kafka_kit.listener.endpoint):
        with pytest.warns(DeprecationWarning, match="import kafka_listener from kafka_kit"):
            assert module.kafka_listener is kafka_kit.kafka_listener  # type: ignore[attr-defined]
        with pytest.raises(AttributeError):
            _ = module.no_such_name  # type: ignore[attr-defined]
    # The value types moved to a leaf module and stay importable from the template.
    assert kafka_kit.template.ProducerRecord is kafka_kit.ProducerRecord


def test_the_services_import_nothing_from_each_other() -> None:
    services = ("producer_service", "consumer_service")
    for service in services:
        others = {s for s in services if s != service}
        graph = import_graph(ROOT / service)
        for path in (ROOT / service).rglob("*.py"):
            tree = ast.parse(path.read_text())
            roots = {
                alias.name.split(".")[0]
                for node in ast.walk(tree)
                if isinstance(node, ast.Import)
                for alias in node.names
            } | {
                node.module.split(".")[0]
                for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) and node.module and not node.level
            }
            assert not roots & others, f"{path.relative_to(ROOT)} imports {roots & others}"
        assert circles(graph) == [], service


def test_the_services_use_only_the_librarys_public_modules() -> None:
    private = []
    for service in ("producer_service", "consumer_service", "event_contract"):
        for path in (ROOT / service).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names = (
                    [node.module]
                    if isinstance(node, ast.ImportFrom) and node.module and not node.level
                    else [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else []
                )
                private += [
                    f"{path.relative_to(ROOT)}: {name}"
                    for name in names
                    if name.startswith("kafka_kit")
                    and any(part.startswith("_") for part in name.split("."))
                ]
    assert private == []
