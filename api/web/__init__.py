"""The web UI in Chinese: server-rendered pages under ``/`` on the same app as the JSON API.

``api.main.create_app`` calls :func:`setup` (session middleware, static files, HTML error
pages for browser requests) and includes :data:`router` (every page; none is in the OpenAPI
schema). Pages call the same service functions as the API.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.responses import Response

from api.web import auth, cases, dashboard, intake, lists, rereview, review
from api.web.render import HERE, error_page

router = APIRouter(include_in_schema=False)
for _module in (auth, intake, review, rereview, cases, lists, dashboard):
    router.include_router(_module.router)

# Paths that belong to the machine interfaces: their errors keep the JSON contract.
MACHINE_PREFIXES = ("/api/", "/open311/", "/healthz", "/metrics", "/docs", "/redoc", "/openapi", "/static/")


def wants_html(request: Request) -> bool:
    path = request.url.path
    return not path.startswith(MACHINE_PREFIXES) and "text/html" in request.headers.get("accept", "")


def setup(app: FastAPI) -> None:
    """Session cookie, static files and HTML error pages for browsers; call once per app."""
    settings = app.state.settings
    app.state.web_hot = dashboard.HotIssueCache()
    app.state.web_figures = dashboard.FigureCache()
    app.add_middleware(
        SessionMiddleware,
        secret_key=auth.session_secret(settings),
        session_cookie="triage_session",
        max_age=auth.SESSION_MAX_AGE,
        same_site="lax",
        https_only=bool(getattr(settings, "session_https_only", False)),
    )
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    json_handler = app.exception_handlers.get(StarletteHTTPException)

    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if wants_html(request) or json_handler is None:
            message = {404: "页面不存在。", 405: "不支持此操作。"}.get(exc.status_code, "请求无法处理。")
            return error_page(request, exc.status_code, message)
        return await json_handler(request, exc)

    app.add_exception_handler(StarletteHTTPException, http_error)  # type: ignore[arg-type]


__all__ = ["router", "setup"]
