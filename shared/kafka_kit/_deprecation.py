"""Names that moved: a module's ``__getattr__`` that still serves them for one version, warning.

The new home is imported only when an old name is asked for, so an alias adds no import edge
(and no circle) to the module that keeps it.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["moved_module", "moved_names"]


def moved_names(module: str, moves: Mapping[str, str], removal: str) -> Callable[[str], Any]:
    """A ``__getattr__`` for ``module``: each old name in ``moves`` (old name → the module to
    import it from now) warns that it goes in version ``removal`` and returns the new object."""

    def __getattr__(name: str) -> Any:
        home = moves.get(name)
        if home is None:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        warnings.warn(
            f"import {name} from {home}; {module}.{name} goes in {removal}",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(home), name)

    return __getattr__


def moved_module(module: str, home: str, removal: str) -> Callable[[str], Any]:
    """A ``__getattr__`` for a module that moved whole to ``home``: every public name of ``home``
    is served from the old path, warning that the path goes in version ``removal``."""

    def __getattr__(name: str) -> Any:
        moved = importlib.import_module(home)
        if name.startswith("__") or not hasattr(moved, name):
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        warnings.warn(
            f"{module} moved to {home}; the old path goes in {removal}",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(moved, name)

    return __getattr__
