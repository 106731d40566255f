"""Which public callables document their parameters in a form a doc generator maps.

Google style, as griffe/mkdocstrings and Sphinx's napoleon read it: an ``Args:`` section naming
each parameter (``name: what``). A class documents its constructor's parameters in its own
docstring or ``__init__``'s; a dataclass, named tuple or pydantic model may document a field
where it is declared instead (a docstring under it, or ``Field(description=...)``).
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import itertools
import re
import textwrap
from collections.abc import Callable, Iterator
from typing import Any

from pydantic import BaseModel


def _parameters(function: Callable[..., Any]) -> list[str]:
    if isinstance(function, type) and issubclass(function, BaseModel):
        return list(function.model_fields)  # not the settings' own ``_env_file``…
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return []
    return [
        p.name
        for p in signature.parameters.values()
        if p.name not in ("self", "cls")
        and not (p.kind is p.VAR_POSITIONAL and p.name == "args")
        and not (p.kind is p.VAR_KEYWORD and p.name == "kwargs")
    ]


def _args_section(doc: str | None) -> set[str]:
    """The names an ``Args:`` section documents."""
    if not doc or "Args:" not in doc:
        return set()
    section = textwrap.dedent(doc.split("Args:", 1)[1])
    names = set()
    for line in section.splitlines():
        starts_unindented = line and not line[0].isspace() and not line.startswith("Args")
        if starts_unindented and not re.match(r"\*{0,2}\w+:", line):
            break  # the next section, or prose after the list
        found = re.match(r"\s*\*{0,2}(\w+)(?: \([^)]*\))?:", line)
        if found and (line.startswith(("    ", "\t")) or not line[:1].isspace()):
            names.add(found.group(1))
    return names


def _documented_fields(cls: type) -> set[str]:
    """Fields with a docstring under them (here or in a base class), or a pydantic
    ``description``."""
    names: set[str] = set()
    if isinstance(cls, type) and issubclass(cls, BaseModel):
        names |= {n for n, f in cls.model_fields.items() if f.description}
    for klass in cls.__mro__:
        if klass.__module__.split(".")[0] == cls.__module__.split(".")[0]:
            names |= _field_docstrings(klass)
    return names


def _own_fields(cls: type) -> set[str]:
    """Fields declared by ``cls`` and its bases from the same package."""
    top = cls.__module__.split(".")[0]
    return {
        name
        for klass in cls.__mro__
        if klass.__module__.split(".")[0] == top
        for name in inspect.get_annotations(klass)
    }


def _field_docstrings(cls: type) -> set[str]:
    names: set[str] = set()
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError):
        return names
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    for field, after in itertools.pairwise(body):
        if (
            isinstance(field, ast.AnnAssign)
            and isinstance(field.target, ast.Name)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            names.add(field.target.id)
    return names


def _is_record_type(cls: type) -> bool:
    return (
        dataclasses.is_dataclass(cls)
        or (issubclass(cls, tuple) and hasattr(cls, "_fields"))
        or issubclass(cls, BaseModel)
    )


def _callables(module: str, names: list[str]) -> Iterator[tuple[str, Callable[..., Any], set[str]]]:
    """``(qualified name, callable, documented names)`` for each public callable."""
    mod = importlib.import_module(module)
    for name in names:
        obj = getattr(mod, name, None)
        if getattr(obj, "__module__", "").split(".")[0] != module.split(".", maxsplit=1)[0]:
            continue  # re-exported from another package (aiokafka, Quix Streams): its docs
        if inspect.isfunction(obj):
            yield f"{obj.__module__}.{name}", obj, _args_section(obj.__doc__)
        elif inspect.isclass(obj):
            documented = _args_section(obj.__doc__)
            init = obj.__dict__.get("__init__")
            if _is_record_type(obj):
                documented |= _documented_fields(obj)
                init = obj  # the fields are the constructor's parameters
            elif init is not None:
                documented |= _args_section(init.__doc__)
            if init is not None and not issubclass(obj, BaseException):
                yield f"{obj.__module__}.{name}", init, documented
            for attr, member in obj.__dict__.items():
                function = getattr(member, "__func__", member)
                if attr.startswith("_") or not inspect.isfunction(function):
                    continue
                yield f"{obj.__module__}.{name}.{attr}", function, _args_section(function.__doc__)


def undocumented(module: str, names: list[str] | None = None) -> dict[str, list[str]]:
    """Per public callable of ``module`` (its ``__all__``, or ``names``): the parameters its
    docstrings do not document."""
    exported = (
        names
        if names is not None
        else list(getattr(importlib.import_module(module), "__all__", []))
    )
    missing = {}
    for qualified, function, documented in _callables(module, exported):
        lacking = [p for p in _parameters(function) if p not in documented]
        if isinstance(function, type):
            # A record type's own fields: those a base from another package declares are
            # documented there (Quix Streams' RocksDB options…).
            own = _own_fields(function)
            lacking = [p for p in lacking if p in own]
        if lacking:
            missing[qualified] = lacking
    return missing
