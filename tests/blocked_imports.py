"""Import modules in a fresh interpreter where some packages are missing, as on a machine without
an extra: what each import did."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable

_SCRIPT = """
import importlib, json, sys
blocked = sys.argv[1].split(",")
class Missing:
    def find_spec(self, name, path=None, target=None):
        if any(name == b or name.startswith(b + ".") for b in blocked):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Missing())
outcomes = {}
exec(sys.argv[3])
for module in filter(None, sys.argv[2].split(",")):
    try:
        importlib.import_module(module)
        outcomes[module] = "imported"
    except Exception as exc:
        outcomes[module] = f"{type(exc).__name__}: {exc}"
print(json.dumps(outcomes))
"""


def import_outcomes(
    blocked: Iterable[str], modules: Iterable[str], first: str = ""
) -> dict[str, object]:
    """``imported`` or the error, per module, with ``blocked`` packages (and their submodules)
    missing; ``first`` runs before the imports and may add to ``outcomes``."""
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, ",".join(blocked), ",".join(modules), first],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    found: dict[str, object] = json.loads(done.stdout)
    return found
