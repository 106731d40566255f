"""API docs that work without the internet: Swagger UI and ReDoc served by the service itself.

FastAPI's ``/docs`` and ``/redoc`` load their JavaScript and CSS from a CDN (and ReDoc its fonts
from Google), so they are blank where the network is closed. The assets here come from the
``fastapi-offline`` package on PyPI (installed with the ``web`` extra) and are served from
``/docs-assets``.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from kafka_kit._extras import requires_extra

__all__ = ["ASSETS_PATH", "serve_docs_offline"]

ASSETS_PATH = "/docs-assets"
"""Where the Swagger UI and ReDoc files are served."""


def _assets_directory() -> Path:
    with requires_extra("web", __name__):
        return Path(str(files("fastapi_offline") / "static"))


def serve_docs_offline(app: FastAPI) -> None:
    """Add ``/docs`` (Swagger UI) and ``/redoc`` whose every asset comes from this app.

    Create the app with ``docs_url=None, redoc_url=None`` so FastAPI's CDN pages are not there.

    Args:
        app: The app (made with ``docs_url=None, redoc_url=None``).
    """
    if app.docs_url or app.redoc_url or not app.openapi_url:
        raise ValueError(
            "create the app with docs_url=None and redoc_url=None (and an openapi_url)"
        )
    openapi_url = app.openapi_url
    app.mount(ASSETS_PATH, StaticFiles(directory=_assets_directory()), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_PATH}/favicon.png",
            # Swagger UI would otherwise ask validator.swagger.io about the spec.
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return get_redoc_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS_PATH}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_PATH}/favicon.png",
            with_google_fonts=False,
        )
