"""The console's routes: server-rendered pages, each re-rendered in place while it is open.

Every page is a template of its own, included by ``base.html``; asked for with ``?fragment=1``
(what ``console.js`` does every ``refresh_s``) the page's template alone is rendered, so the
live update and the first load are the same HTML. Changes (pause, seek, replay) are the
service's own API endpoints, called by the script with the console header (see ``auth``).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from kafka_kit._extras import requires_extra

with requires_extra("web", __name__):
    import jinja2  # noqa: F401 - starlette imports it only when a template is made
    from fastapi import APIRouter, FastAPI, Request
    from fastapi.responses import HTMLResponse, RedirectResponse, Response
    from fastapi.staticfiles import StaticFiles
    from fastapi.templating import Jinja2Templates

from kafka_kit.web.auth import AccessRule, SessionCookie, rules
from kafka_kit.web.console import views
from kafka_kit.web.console.settings import ConsoleSettings
from kafka_kit.web.console.sources import ConsoleSources

__all__ = ["CONSOLE_ACCESS", "install_console"]

log = logging.getLogger(__name__)

_HERE = Path(__file__).parent
PREFIX = "/console"

CONSOLE_ACCESS: tuple[AccessRule, ...] = rules(
    (rf"{PREFIX}/login", "open", ["GET", "POST"]),
    (rf"{PREFIX}/logout", "open", ["POST"]),
    (rf"{PREFIX}/static/.+", "open", ["GET"]),
    (rf"{PREFIX}(/.*)?", "read", ["GET"]),
)
"""The console's part of a service's access table: login and assets open, pages need reads."""

_SECURITY_HEADERS = {
    # Everything comes from this service: no inline script, nothing from the internet.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}

_PAGES = (
    ("cluster", "Cluster"),
    ("groups", "Consumer groups"),
    ("listeners", "Listeners"),
    ("dead-letters", "Dead letters"),
    ("events", "Recent events"),
    ("connect", "Connectors & streams"),
)

_TRACE_ID = re.compile(r"[0-9a-f]{32}")

Sources = Callable[[Request], ConsoleSources]
PageData = Callable[[ConsoleSources], Awaitable[Mapping[str, Any]] | Mapping[str, Any]]


def install_console(
    app: FastAPI,
    sources: Sources,
    *,
    session: SessionCookie | None = None,
    settings: ConsoleSettings | None = None,
    api_prefix: str = "",
) -> None:
    """Serve the console under ``/console`` (pages, login, assets) from ``sources``.

    Its controls call the app's own endpoints under ``api_prefix``: ``/listeners/{id}/pause``,
    ``resume``, ``stop``, ``start``, ``seek``, and ``/dlt/{topic}/replay``.

    Args:
        app: The service's app.
        sources: Gives the console what it shows, per request (from the app's state).
        session: The login cookie; the console is open without one.
        settings: The console's own settings (``CONSOLE_*``).
        api_prefix: Where the service's API is mounted, for the console's links.
    """
    session = session or SessionCookie()
    templates = Jinja2Templates(directory=_HERE / "templates")
    templates.env.globals.update(pages=_PAGES, prefix=PREFIX, api=api_prefix)
    templates.env.filters.update(
        when=_when, payload=_payload, maybe=_maybe, severity=views.severity
    )
    router = APIRouter(prefix=PREFIX, include_in_schema=False)
    console = _Console(templates, sources, session, (settings or ConsoleSettings()).refresh_s)

    router.add_api_route("", console.home, methods=["GET"])
    router.add_api_route("/login", console.login_form, methods=["GET"])
    router.add_api_route("/login", console.login, methods=["POST"])
    router.add_api_route("/logout", console.logout, methods=["POST"])
    for name, page, data in (
        ("cluster", "cluster.html", views.cluster_page),
        ("groups", "groups.html", views.groups_page),
        ("listeners", "listeners.html", views.listeners_page),
        ("dead-letters", "dead_letters.html", views.dead_letters_page),
        ("events", "events.html", views.events_page),
        ("connect", "connect.html", views.connect_page),
    ):
        router.add_api_route(f"/{name}", console.page(name, page, data), methods=["GET"])
    router.add_api_route("/dead-letters/{topic}", console.dead_letter_topic, methods=["GET"])
    router.add_api_route("/traces/{trace_id}", console.trace, methods=["GET"])
    app.include_router(router)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=_HERE / "static"), name="console-static")


class _Console:
    def __init__(
        self,
        templates: Jinja2Templates,
        sources: Sources,
        session: SessionCookie,
        refresh_s: float,
    ) -> None:
        self.templates = templates
        self.sources = sources
        self.session = session
        self.refresh_ms = int(refresh_s * 1000)

    async def home(self) -> Response:
        return RedirectResponse(f"{PREFIX}/cluster", status_code=303)

    def page(
        self, name: str, template: str, data: PageData
    ) -> Callable[[Request], Awaitable[Response]]:
        async def render(request: Request) -> Response:
            return await self._render(request, name, template, data)

        render.__name__ = f"console_{name.replace('-', '_')}"
        return render

    async def dead_letter_topic(self, request: Request, topic: str) -> Response:
        async def data(sources: ConsoleSources) -> Mapping[str, Any]:
            return await views.dead_letter_topic_page(sources, topic)

        return await self._render(request, "dead-letters", "dead_letter_topic.html", data)

    async def trace(self, request: Request, trace_id: str) -> Response:
        if not _TRACE_ID.fullmatch(trace_id):
            return HTMLResponse("a trace id is 32 hex digits", status_code=422)

        async def data(sources: ConsoleSources) -> Mapping[str, Any]:
            return await views.trace_page(sources, trace_id)

        return await self._render(request, "events", "trace.html", data)

    async def _render(self, request: Request, name: str, template: str, data: PageData) -> Response:
        sources = self.sources(request)
        context: dict[str, Any] = {"current": name, "now": time.time()}
        try:
            gathered = data(sources)
            context.update(await gathered if isinstance(gathered, Awaitable) else gathered)
        except Exception as exc:  # noqa: BLE001 - the page says what failed and keeps refreshing
            log.warning("console page %s: %r", name, exc)
            context["failure"] = f"{type(exc).__name__}: {exc}"
        fragment = request.query_params.get("fragment") == "1"
        # Logged in: "log out". Tokens set but no session (reads may be open): "log in" to change.
        signed_in = sources.tokens.scope_of(request.cookies.get(self.session.name, "")) is not None
        context.update(
            page=template,
            refresh_ms=self.refresh_ms,
            session=signed_in,
            login=sources.tokens.enabled and not signed_in,
        )
        answer = self.templates.TemplateResponse(
            request, template if fragment else "base.html", context
        )
        answer.headers.update(_SECURITY_HEADERS)
        return answer

    async def login_form(self, request: Request, next: str = "") -> Response:
        if not self.sources(request).tokens.enabled:
            return RedirectResponse(_safe_next(next), status_code=303)
        return self._login_page(request, next, error=None, status=200)

    async def login(self, request: Request) -> Response:
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        token = (form.get("token") or [""])[0]
        target = _safe_next((form.get("next") or [""])[0])
        if self.sources(request).tokens.scope_of(token) is None:
            return self._login_page(request, target, error="That token is not valid.", status=401)
        answer = RedirectResponse(target, status_code=303)
        answer.set_cookie(
            self.session.name,
            token,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )
        return answer

    async def logout(self) -> Response:
        answer = RedirectResponse(f"{PREFIX}/login", status_code=303)
        answer.delete_cookie(self.session.name, path="/")
        return answer

    def _login_page(
        self, request: Request, target: str, *, error: str | None, status: int
    ) -> HTMLResponse:
        answer = self.templates.TemplateResponse(
            request,
            "login.html",
            {"next": target, "error": error, "current": "login", "session": False, "login": False},
            status_code=status,
        )
        answer.headers.update(_SECURITY_HEADERS)
        return answer


def _safe_next(target: str) -> str:
    """Only a console page of this service: never a redirect to somewhere else."""
    if target.startswith(f"{PREFIX}/") and not target.startswith(f"{PREFIX}//"):
        return target
    return f"{PREFIX}/cluster"


def _payload(data: Mapping[str, str] | None) -> str:
    """A dead letter's key or value as :meth:`DeadLetter.as_json` gives it: text, or base64."""
    if data is None:
        return ""
    return data["text"] if "text" in data else f"base64:{data.get('base64', '')}"


def _maybe(value: object) -> object:
    """A dash for a number not known (yet)."""
    return "\u2013" if value is None else value


def _when(timestamp: float | None) -> str:
    """A Unix time (seconds or milliseconds) as UTC wall-clock time."""
    if timestamp is None:
        return ""
    seconds = timestamp / 1000 if timestamp > 1e11 else timestamp
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(seconds))
