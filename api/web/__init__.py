"""The web UI in Chinese: server-rendered pages under ``/`` on the same app as the JSON API.

``api.main.create_app`` calls :func:`setup` (session middleware, static files, HTML error
pages for browser requests) and includes :data:`router` (every page; none is in the OpenAPI
schema). Pages call the same actions as the JSON API (:mod:`api.actions`: access check +
service call). Layers, each importing only those below it: ``session`` and ``forms`` (session
key, login throttle, CSRF, flash; form fields) → ``render`` (templates, filters, page context,
error pages) → the pages (``login``, ``intake``, ``review`` …).
"""

from __future__ import annotations

import inspect

from fastapi import APIRouter, FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.responses import Response
from starlette.types import Scope

from api.web import (
    account,
    admin_grids,
    admin_users,
    attachments,
    cases,
    contact,
    dashboard,
    intake,
    ledgers,
    lists,
    login,
    notifications,
    proposals,
    rereview,
    review,
    search,
    supervision,
)
from api.web.render import HERE, error_page
from api.web.session import cookie_max_age, session_secret

router = APIRouter(include_in_schema=False)
# contact and supervision before cases: their POST /cases/{no}/contact, …/supervise, …/escalate and
# …/report-in must win over the generic /cases/{no}/{action}
_PAGES = (
    login,
    intake,
    review,
    rereview,
    attachments,
    contact,
    supervision,
    cases,
    lists,
    dashboard,
    admin_users,
    admin_grids,
)
for _module in (*_PAGES, account):
    router.include_router(_module.router)
router.include_router(notifications.router)  # 通知 (deadline alerts)
router.include_router(search.router)  # 搜索案件 (case search)
router.include_router(proposals.router)  # 代表建议
router.include_router(ledgers.router)  # 台账 and 矛盾纠纷

# Paths that belong to the machine interfaces: their errors keep the JSON contract.
MACHINE_PREFIXES = ("/api/", "/open311/", "/healthz", "/metrics", "/docs", "/redoc", "/openapi", "/static/")


def wants_html(request: Request) -> bool:
    path = request.url.path
    return not path.startswith(MACHINE_PREFIXES) and "text/html" in request.headers.get("accept", "")


def too_large_page(scope: Scope) -> Response | None:
    """The 413 page for a browser's form post over the body limit (None: machine clients get JSON)."""
    request = Request(scope)
    if not wants_html(request):
        return None
    limit = request.app.state.settings.max_text_chars
    message = f"提交的内容过大，未能受理。诉求内容最多 {limit} 字，请返回上一页删减后再提交。"
    if "/attachments/" in request.url.path or request.url.path.endswith("/resolve"):
        mb = request.app.state.settings.attachment_max_bytes // (1024 * 1024)
        message = f"提交的内容过大，未能受理。照片或 PDF 每个不超过 {mb} MB，请返回上一页压缩后再上传。"
    return error_page(request, 413, message)


def setup(app: FastAPI) -> None:
    """Session cookie, static files and HTML error pages for browsers; call once per app."""
    settings = app.state.settings
    app.state.web_hot = dashboard.HotIssueCache()
    app.state.web_figures = dashboard.FigureCache()
    app.add_middleware(
        SessionMiddleware,
        secret_key=session_secret(settings),
        session_cookie="triage_session",
        max_age=cookie_max_age(settings),
        same_site="lax",
        https_only=settings.session_https_only,
    )
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.state.too_large_page = too_large_page  # read by api.errors.BodySizeLimitMiddleware
    json_handler = app.exception_handlers.get(StarletteHTTPException)

    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if wants_html(request) or json_handler is None:
            message = {404: "页面不存在。", 405: "不支持此操作。"}.get(exc.status_code, "请求无法处理。")
            return error_page(request, exc.status_code, message)
        answer = json_handler(request, exc)
        return await answer if inspect.isawaitable(answer) else answer

    app.add_exception_handler(StarletteHTTPException, http_error)  # type: ignore[arg-type]


__all__ = ["router", "setup"]
