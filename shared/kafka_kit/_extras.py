"""Optional parts and the extras that install them: a missing one is named with its pip command.

``with requires_extra("web", __name__):`` around an optional part's third-party imports turns a bare
``ModuleNotFoundError`` into :class:`~kafka_kit.errors.MissingExtraError`, as FastStream answers
a missing extra with an install hint.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from kafka_kit.errors import MissingExtraError

__all__ = ["EXTRAS", "requires_extra"]

EXTRAS: dict[str, frozenset[str]] = {
    "web": frozenset({"fastapi", "fastapi_offline", "jinja2", "starlette", "uvicorn"}),
    "outbox": frozenset({"aiosqlite"}),
    "streams": frozenset({"platformdirs", "quixstreams", "confluent_kafka", "rocksdict"}),
    "cli": frozenset({"watchfiles"}),
    "connect": frozenset({"httpx"}),
    "otel": frozenset(
        {
            "opentelemetry",
            "opentelemetry_api",
            "opentelemetry_sdk",
            "opentelemetry_exporter_otlp_proto_http",
            "opentelemetry_instrumentation_fastapi",
        }
    ),
    "testing": frozenset({"pytest", "_pytest", "pytest_asyncio", "testcontainers"}),
}
"""Each extra and the top-level modules it brings (its distributions' and theirs that we import)."""


@contextmanager
def requires_extra(extra: str, part: str) -> Iterator[None]:
    """Imports of ``part`` (a module's name) that only ``extra`` installs: name it if one fails.

    Only a missing module of that extra is translated; any other import error stays itself.
    """
    try:
        yield
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").split(".")[0]
        if missing not in EXTRAS[extra]:
            raise
        raise MissingExtraError(
            f"{part} needs the {extra!r} extra ({missing} is not installed): "
            f"pip install 'kafka-kit[{extra}]'",
            name=missing,
        ) from exc
