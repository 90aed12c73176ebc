"""Templates, display filters, the common page context and the page error handling.

The layer above :mod:`api.web.session` (whose current user, CSRF token and flash messages
every page shows) and below the pages. ``PageRoute`` wraps each page handler so that any
failure ends as a readable Chinese page (or a redirect to the login form), never as JSON or a
traceback.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import HTMLResponse, RedirectResponse, Response

from api import access
from api.errors import ApiError, status_for
from api.web import labels
from api.web.session import LoginRequired, PageError, csrf_token, current_user, pop_flashes
from triage.config import LOCAL_TZ
from triage.errors import TriageError
from triage.store.models import Role
from triage.text.masking import mask_pii, mask_text

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
TEMPLATES = Jinja2Templates(directory=str(HERE / "templates"))
# Pages load only our own scripts and styles; inline SVG charts need no resources.
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


# The navigation: (path, label, roles that see it); the rules themselves are api.access's.
NAV: list[tuple[str, str, frozenset[Role]]] = [
    ("/intake", "受理", access.SUBMIT),
    ("/review", "审核队列", access.REVIEW),
    ("/rereview", "待复核", access.REVIEW),
    ("/desk", "部门工作台", access.DESK),
    ("/grids", "网格与代表", access.ALL_ROLES),
    ("/dashboard", "统计看板", access.ALL_ROLES),
    ("/admin/users", "用户管理", access.ADMIN),
]


# -- filters ----------------------------------------------------------------------------------
def localtime(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return ""
    return value.astimezone(LOCAL_TZ).strftime(fmt)


def hours_text(hours: float | None) -> str:
    if hours is None:
        return "—"
    if abs(hours) < 48:
        return f"{hours:.0f} 小时" if hours >= 1 else f"{max(hours * 60, 0):.0f} 分钟"
    return f"{hours / 24:.1f} 天"


def deadline_text(deadline: datetime | None, now: datetime) -> str:
    """ "剩余 5 小时" or "超期 2.0 天"."""
    if deadline is None:
        return ""
    hours = (deadline - now).total_seconds() / 3600
    return f"剩余 {hours_text(hours)}" if hours >= 0 else f"超期 {hours_text(-hours)}"


def percent(value: float | None, digits: int = 0) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def highlight(text: str | None, terms: list[str] | None) -> Markup:
    """Escape ``text`` and wrap each explanation term in <mark> (longest terms first)."""
    text = text or ""
    words = sorted({t for t in terms or [] if t and t.strip()}, key=len, reverse=True)
    if not words:
        return Markup(escape(text))
    pattern = re.compile("|".join(re.escape(w) for w in words))
    out: list[str] = []
    last = 0
    for m in pattern.finditer(text):
        out.append(str(escape(text[last : m.start()])))
        out.append(f'<mark class="term">{escape(m.group(0))}</mark>')
        last = m.end()
    out.append(str(escape(text[last:])))
    return Markup("".join(out))


def excerpt(text: str | None, n: int = 60) -> str:
    text = (text or "").replace("\n", " ")
    return text if len(text) <= n else text[: n - 1] + "…"


def reason_text(reason: dict[str, Any] | None) -> str:
    """The routing reason in words (its terms come from the text: masked like it)."""
    return mask_pii(_reason_words(reason))


def _reason_words(reason: dict[str, Any] | None) -> str:
    reason = reason or {}
    source = reason.get("source")
    if source == "rule":
        terms = "、".join(reason.get("matched_terms") or [])
        return f"命中分拨规则 {reason.get('rule_id', '')}（关键词：{terms}）"
    if source == "department_model":
        return f"部门模型判断（概率 {float(reason.get('probability') or 0):.0%}）"
    if source == "model":
        probability = float(reason.get("probability") or 0)
        text = f"按分类“{reason.get('category', '')}”的主管部门（概率 {probability:.0%}）"
        hints = reason.get("hint_terms")
        return text + (f"，细分依据：{'、'.join(hints)}" if hints else "")
    if source == "default":
        return "无法确定主管部门，按默认部门分拨"
    if source == "abstain":  # the model said nothing (e.g. no Chinese): a person routes the case
        return str(reason.get("message") or "需人工分拨")
    return "—"


for name, fn in {
    "localtime": localtime,
    "hours": hours_text,
    "percent": percent,
    "highlight": highlight,
    "excerpt": excerpt,
    "reason": reason_text,
    "urlquote": lambda s: quote(str(s or ""), safe=""),
    "mask": lambda s: mask_text(str(s)) if s else s,  # every free-text field a person typed
}.items():
    TEMPLATES.env.filters[name] = fn
TEMPLATES.env.globals.update(
    STATUS=labels.STATUS,
    ROLE=labels.ROLE,
    PRIORITY=labels.PRIORITY,
    SOURCE=labels.SOURCE,
    ACTION=labels.ACTION,
    FIELD=labels.FIELD,
    LIST_KINDS=labels.LIST_KINDS,
    SATISFACTION=labels.SATISFACTION,
    deadline_text=deadline_text,
)


def page_context(request: Request) -> dict[str, Any]:
    """What every page shows: the user and their navigation, the CSRF token, flash messages."""
    user = getattr(request.state, "page_user", None)
    if user is None and "sid" in request.session:
        try:
            user = current_user(request)
        except Exception:  # error pages must render even when the database is down
            user = None
    nav = [(href, label) for href, label, roles in NAV if user is not None and user.role in roles]
    return {
        "user": user,
        "user_name": getattr(request.state, "page_user_name", user.username if user else ""),
        "nav": nav,
        "csrf_token": csrf_token(request),
        "flashes": pop_flashes(request),
        "path": request.url.path,
    }


def render(request: Request, name: str, context: dict[str, Any] | None = None, status: int = 200) -> Response:
    """Render a page with the common context (user, navigation, CSRF token, flash messages)."""
    ctx = page_context(request) | (context or {})
    response = TEMPLATES.TemplateResponse(request, name, ctx, status_code=status)
    response.headers.update(SECURITY_HEADERS)
    return response


def render_fragment(request: Request, name: str, context: dict[str, Any]) -> HTMLResponse:
    """A piece of HTML for the page's scripts (no layout)."""
    html = TEMPLATES.get_template(name).render({"request": request, **context})
    return HTMLResponse(html, headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def error_page(request: Request, status: int, message: str) -> Response:
    try:
        return render(request, "error.html", {"status": status, "message": message}, status=status)
    except Exception:  # even the layout failed: plain text, still no traceback
        log.exception("error page failed")
        return HTMLResponse(f"<h1>{status}</h1><p>{escape(message)}</p>", status_code=status)


def describe(exc: Exception) -> tuple[int, str]:
    """HTTP status and Chinese message for a failure raised by the service or the API layer."""
    if isinstance(exc, PageError):
        return exc.status, exc.message
    if isinstance(exc, ApiError):
        fallback = "无权执行此操作。" if exc.status == 403 else "操作未能完成，请检查填写的内容。"
        return exc.status, labels.error_message(exc.code, fallback)
    if isinstance(exc, TriageError):
        return status_for(exc), labels.error_message(exc.code)
    if isinstance(exc, RequestValidationError):
        return 422, "请求参数不正确。"
    if isinstance(exc, StarletteHTTPException):
        return exc.status_code, "页面不存在。" if exc.status_code == 404 else "请求无法处理。"
    return 500, "系统出现错误，请稍后再试。"


def login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET":
        target = request.headers.get("referer", "/") or "/"
        target = "/" if "://" in target and not target.startswith(str(request.base_url)) else target
    return redirect(f"/login?next={quote(target, safe='')}")


class PageRoute(APIRoute):
    """Route class of the pages: every failure becomes an error page or a login redirect."""

    def get_route_handler(self):  # type: ignore[no-untyped-def]
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                return login_redirect(request)
            except Exception as exc:  # noqa: BLE001 - every failure becomes a page
                status, message = describe(exc)
                if status >= 500:
                    log.exception("page %s %s failed", request.method, request.url.path)
                return error_page(request, status, message)

        return page_handler
