"""A fresh bearer token for a run: ``python -m kafka_kit.web.tokens FILE`` writes and prints one.

The demo and Docker Compose make one per run for the admin routes, so a demo is never left open
to whoever reaches its ports (``API_ADMIN_TOKEN_FILE`` reads it in the container).
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

__all__ = ["new_token", "write_token"]


def new_token() -> str:
    """A random URL-safe token (192 bits)."""
    return secrets.token_urlsafe(24)


def write_token(path: Path) -> str:
    """A new token in ``path`` (owner-readable only), replacing what was there; the token.

    Args:
        path: The file (made, or replaced).
    """
    token = new_token()
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(token + "\n")
    return token


def main(argv: list[str] | None = None) -> int:
    """Write a new token to the file named, print it; exit status 2 without a file."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0].startswith("-"):
        print("usage: python -m kafka_kit.web.tokens FILE", file=sys.stderr)
        return 2
    token = write_token(Path(args[0]))
    print(f"admin token for this run: {token}", flush=True)
    print("(the console's login takes it; curl: -H 'Authorization: Bearer <token>')", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
