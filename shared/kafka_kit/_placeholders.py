"""Spring-style ``${NAME:default}`` placeholders in listener arguments, from the environment."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from kafka_kit.errors import UnresolvedPlaceholderError

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_.]*)(?::([^}]*))?\}")


def resolve_placeholders(text: str, environ: Mapping[str, str] | None = None) -> str:
    """Replace each ``${NAME}`` / ``${NAME:default}`` in ``text`` with its value."""
    values = os.environ if environ is None else environ

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in values:
            return values[name]
        if default is not None:
            return default
        raise UnresolvedPlaceholderError(f"no value for ${{{name}}} and no default in {text!r}")

    return _PLACEHOLDER.sub(substitute, text)
