"""Where the library ends: what it imports, what it exports, which errors it raises."""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import pkgutil
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import aiokafka.errors
import pytest

import kafka_kit
from kafka_kit import KafkaKitError
from kafka_kit._extras import EXTRAS
from tests.blocked_imports import import_outcomes

PACKAGE = Path(kafka_kit.__file__).parent
MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages([str(PACKAGE)], prefix="kafka_kit.")
    if not info.name.endswith("__main__")
)


def _moved(name: str) -> str | None:
    """The new home of a deprecated module path (one that only forwards, warning), else None."""
    forward = getattr(importlib.import_module(name), "__getattr__", None)
    closure = getattr(forward, "__closure__", None) or ()
    if getattr(forward, "__qualname__", "") != "moved_module.<locals>.__getattr__":
        return None
    names = forward.__code__.co_freevars  # type: ignore[union-attr]
    return str(closure[names.index("home")].cell_contents)


MOVED = {m: home for m in MODULES if (home := _moved(m)) is not None}
PUBLIC = [m for m in MODULES if not any(p.startswith("_") for p in m.split(".")) and m not in MOVED]


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            roots.add(node.module.split(".")[0])
    return roots


def test_the_library_never_imports_a_service() -> None:
    for path in PACKAGE.rglob("*.py"):
        assert not _imported_roots(path) & {
            "event_contract",
            "producer_service",
            "consumer_service",
            "tests",
        }, path


def test_only_the_optional_parts_import_their_extras() -> None:
    extras = {
        "fastapi": "web",
        "starlette": "web",
        "fastapi_offline": "web",
        "aiosqlite": "outbox",
        "pytest": "testing",
        "testcontainers": "testing",
        "opentelemetry": "otel",
    }
    optional = {
        # A service's tracing names FastAPI's app as a type (an import only for the checker).
        "web": ["web", "tracing/service.py"],
        "otel": ["tracing", "testing/spans.py"],
        "outbox": ["outbox.py", "_internal/sqlite_file.py"],
        "testing": ["testing"],
    }
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE).as_posix()
        for root in _imported_roots(path) & set(extras):
            allowed = optional[extras[root]]
            assert any(relative.startswith(a) for a in allowed), f"{relative} imports {root}"


def test_importing_starts_registers_and_drags_in_nothing() -> None:
    # A fresh interpreter: this test process has imported and wired everything already.
    code = (
        "import json, sys, prometheus_client\n"
        "import kafka_kit, kafka_kit.lag, kafka_kit.local_kafka, kafka_kit.testing\n"
        "heavy = ('fastapi', 'starlette', 'aiosqlite', 'psycopg', 'pytest')\n"
        "core_loaded = sorted(m for m in heavy if m in sys.modules)\n"
        "import kafka_kit.web.limits, kafka_kit.web.burrow_json, kafka_kit.outbox\n"
        "names = [m.name for m in prometheus_client.REGISTRY.collect()]\n"
        "metrics = [n for n in names if n.startswith('kafka')]\n"
        "print(json.dumps({'core_loaded': core_loaded, 'metrics': metrics}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(done.stdout) == {"core_loaded": [], "metrics": []}


@pytest.mark.parametrize("name", PUBLIC)
def test_every_public_module_declares_its_api(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    assert isinstance(exported, list), f"{name} has no __all__"
    assert [n for n in exported if not hasattr(module, n)] == []


def test_the_modules_that_moved_are_the_ones_this_version_moved() -> None:
    assert {old.removeprefix("kafka_kit."): new for old, new in MOVED.items()} == {
        "back_off": "kafka_kit.recovery.back_off",
        "error_handler": "kafka_kit.recovery.error_handler",
        "retry_topics": "kafka_kit.recovery.retry_topics",
        "dead_letter": "kafka_kit.recovery.dead_letter",
        "dead_letter_replay": "kafka_kit.recovery.dead_letter_replay",
        "clients": "kafka_kit._internal.clients",
        "reachability": "kafka_kit._internal.reachability",
        "client_logs": "kafka_kit._internal.client_logs",
        "quorum": "kafka_kit._internal.quorum",
        "sqlite_file": "kafka_kit._internal.sqlite_file",
        "environment": "kafka_kit._internal.environment",
    }


@pytest.mark.parametrize("old", sorted(MOVED))
def test_a_moved_module_serves_its_names_from_the_new_home_with_a_warning(old: str) -> None:
    home = importlib.import_module(MOVED[old])
    name = next(n for n in getattr(home, "__all__", dir(home)) if not n.startswith("_"))
    with pytest.warns(DeprecationWarning, match=f"{old} moved to {MOVED[old]}"):
        served = getattr(importlib.import_module(old), name)
    assert served is getattr(home, name)
    with pytest.raises(AttributeError):
        importlib.import_module(old).no_such_name  # noqa: B018


def test_names_the_root_no_longer_exports_are_served_with_a_warning() -> None:
    from kafka_kit.recovery import DefaultErrorHandler

    with pytest.warns(
        DeprecationWarning, match="import DefaultErrorHandler from kafka_kit.recovery"
    ):
        assert kafka_kit.DefaultErrorHandler is DefaultErrorHandler  # type: ignore[attr-defined]
    assert "DefaultErrorHandler" not in kafka_kit.__all__
    assert len(kafka_kit.__all__) <= 20  # the core API; subpackages export the rest


def test_the_top_level_api_is_importable() -> None:
    assert [n for n in kafka_kit.__all__ if not hasattr(kafka_kit, n)] == []
    assert "KafkaTemplate" in kafka_kit.__all__ and "kafka_listener" in kafka_kit.__all__
    assert kafka_kit.__version__


@pytest.mark.parametrize("name", MODULES)
def test_every_error_derives_from_the_root(name: str) -> None:
    module = importlib.import_module(name)
    for _, cls in inspect.getmembers(module, inspect.isclass):
        if cls.__module__ == name and issubclass(cls, BaseException):
            assert issubclass(cls, KafkaKitError), f"{name}.{cls.__name__}"


def test_no_error_is_named_like_an_aiokafka_error() -> None:
    ours = set(kafka_kit.errors.__all__)
    assert ours & set(dir(aiokafka.errors)) == set()


def test_errors_keep_their_builtin_bases() -> None:
    assert issubclass(kafka_kit.errors.DeserializationError, ValueError)
    assert issubclass(kafka_kit.errors.UnknownListenerError, KeyError)
    assert issubclass(kafka_kit.errors.ClusterUnreachableError, ConnectionError)
    assert kafka_kit.errors.ClusterUnreachableError("x").retriable
    assert not kafka_kit.errors.TopicDeclarationError("x").retriable


def test_the_package_is_typed() -> None:
    assert (PACKAGE / "py.typed").exists()


def _library_extras() -> dict[str, set[str]]:
    """pyproject's extras of the library itself (not the repository's own), as import names."""
    project = tomllib.loads((PACKAGE.parents[1] / "pyproject.toml").read_text())["project"]
    extras = {}
    for extra, requirements in project["optional-dependencies"].items():
        if extra in ("services", "dev", "bench", "docs"):
            continue
        names = {re.split(r"[<>=\[ ;]", r, maxsplit=1)[0] for r in requirements}
        extras[extra] = {name.lower().replace("-", "_") for name in names}
    return extras


def test_every_extra_and_its_distributions_are_known_to_the_guard() -> None:
    extras = _library_extras()
    assert set(extras) == set(EXTRAS)
    for extra, modules in extras.items():
        assert modules <= EXTRAS[extra], extra


def _optional_imports(path: Path, roots: frozenset[str]) -> tuple[bool, list[ast.AST]]:
    """Whether ``path`` imports one of ``roots`` at module level, and its imports of them
    inside functions."""
    tree = ast.parse(path.read_text())
    at_module_level = False
    in_functions: list[ast.AST] = []
    for top in tree.body:
        if isinstance(top, ast.If) and "TYPE_CHECKING" in ast.unparse(top.test):
            continue
        for node in ast.walk(top):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and not node.level
                else []
            )
            if any(name.split(".")[0] in roots for name in names):
                if isinstance(top, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    in_functions.append(node)
                else:
                    at_module_level = True
    return at_module_level, in_functions


@pytest.mark.parametrize("extra", sorted(EXTRAS))
def test_an_optional_part_without_its_extra_names_the_extra_to_install(extra: str) -> None:
    roots = EXTRAS[extra]
    importing, guarded_in_functions = [], 0
    for name in MODULES:
        path = PACKAGE.parent / (name.replace(".", "/") + ".py")
        if not path.exists():
            path = path.with_suffix("") / "__init__.py"
        at_module_level, in_functions = _optional_imports(path, roots)
        if at_module_level:
            importing.append(name)
        source = path.read_text()
        for node in in_functions:
            # A function's import sits in `with requires_extra("<extra>", ...)`.
            before = source.splitlines()[: getattr(node, "lineno", 1)]
            assert any(f'requires_extra("{extra}"' in line for line in before[-3:]), (
                f"{name}:{getattr(node, 'lineno', '?')} imports {extra}'s module unguarded"
            )
            guarded_in_functions += 1
    assert importing or guarded_in_functions, f"nothing imports the {extra!r} extra's modules"
    if not importing:
        return
    outcomes = import_outcomes(sorted(roots), importing)
    hint = f"pip install 'kafka-kit[{extra}]'"
    assert {m: o for m, o in outcomes.items() if not str(o).startswith("MissingExtraError")} == {}
    assert all(hint in outcome for outcome in outcomes.values()), outcomes
