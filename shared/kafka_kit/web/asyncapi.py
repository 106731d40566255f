"""The AsyncAPI document served by a service: ``/asyncapi.json``, and ``/asyncapi`` to read it.

The page is rendered by the service itself (a Jinja2 template, no script, no CDN), so, like
``/docs``, it works where the network is closed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse

from kafka_kit._extras import requires_extra

__all__ = ["ASYNCAPI_JSON", "install_asyncapi", "render_page"]

ASYNCAPI_JSON = "/asyncapi.json"
"""Where the document is served."""

_TEMPLATES = Path(__file__).parent / "templates"


@cache
def _environment() -> Any:
    with requires_extra("web", __name__):
        import jinja2  # noqa: PLC0415 - the web extra's, imported when a page is first shown

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATES), autoescape=True, auto_reload=False
    )


def _resolve(doc: dict[str, Any], reference: str) -> Any:
    """What a local ``$ref`` (``#/a/b``) points at."""
    found: Any = doc
    for part in reference.removeprefix("#/").split("/"):
        found = found[part.replace("~1", "/").replace("~0", "~")]
    return found


def render_page(doc: dict[str, Any], json_url: str = ASYNCAPI_JSON) -> str:
    """The document as an HTML page: servers, operations, channels, message schemas.

    Args:
        doc: An AsyncAPI 3.0 document (``kafka_kit.asyncapi.asyncapi_document``).
        json_url: Where the page links the document itself.
    """

    def channel_address(channel: dict[str, str]) -> str:
        return str(_resolve(doc, channel["$ref"]).get("address") or "(dynamic)")

    def schema_of(message: dict[str, Any]) -> str:
        payload = message.get("payload", {})
        if "$ref" in payload:
            payload = _resolve(doc, payload["$ref"])
        return json.dumps(payload, indent=2)

    template = _environment().get_template("asyncapi.html")
    return str(
        template.render(
            doc=doc, json_url=json_url, channel_address=channel_address, schema_of=schema_of
        )
    )


def install_asyncapi(app: FastAPI, document: Callable[[], dict[str, Any]]) -> None:
    """Serve ``document()`` at ``/asyncapi.json`` and as a page at ``/asyncapi``.

    The document is made on first request and kept (what a service declares does not change
    while it runs). Neither route is in the OpenAPI document, as ``/docs`` is not.

    Args:
        app: The service's app.
        document: Makes the AsyncAPI document (``asyncapi_document(kafka_app, title=…)``).
    """
    made = cache(document)
    app.state.asyncapi = made

    @app.get(ASYNCAPI_JSON, include_in_schema=False)
    async def asyncapi_json() -> JSONResponse:
        return JSONResponse(made())

    @app.get("/asyncapi", include_in_schema=False)
    async def asyncapi_page(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return HTMLResponse(render_page(made(), json_url=root + ASYNCAPI_JSON))
