"""Templates, display filters, the common page context and the page error handling.

The layer above :mod:`api.web.session` (whose current user, CSRF token and flash messages
every page shows) and below the pages. ``PageRoute`` wraps each page handler so that any
failure ends as a readable Chinese page (or a redirect to the login form), never as JSON or a
traceback.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from markupsafe import Markup, escape
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import HTMLResponse, RedirectResponse, Response

from api import access
from api.actions.supervision import department_names
from api.errors import ApiError, status_for
from api.limits import FORM_LIMITS
from api.views import model_view
from api.web import labels
from api.web.session import LoginRequired, PageError, csrf_token, current_user, pop_flashes
from triage.config import LOCAL_TZ
from triage.errors import TriageError
from triage.route import explain
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
    ("/supervision", "督办回访", access.SUPERVISE | access.REPORT_IN | access.FOLLOWUP),
    ("/proposals", "代表建议", access.PROPOSE | access.ANSWER_PROPOSAL),
    ("/grids", "网格与代表", access.ALL_ROLES),
    ("/ledgers", "台账", access.ALL_ROLES),
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


def reason_text(reason: dict[str, Any] | None, rule_names: Mapping[str, str] | None = None) -> str:
    """The routing reason in words (:func:`triage.route.explain.reason_text`: a rule by its Chinese
    name, never its id); its terms come from the text, so they are masked like it."""
    return mask_pii(explain.reason_text(reason, rule_names))


def _rule_names(ctx: Any) -> Mapping[str, str] | None:
    """Rule id → name of the service's routing file, for reasons stored before rules had names."""
    request = ctx.get("request")
    service = getattr(getattr(request, "app", None), "state", None)
    router = getattr(getattr(getattr(service, "service", None), "catalog", None), "router", None)
    names = getattr(router, "rule_names", None)
    return names() if callable(names) else None


@pass_context
def _reason_filter(ctx: Any, reason: dict[str, Any] | None) -> str:
    return reason_text(reason, _rule_names(ctx))


@pass_context
def _model_view(ctx: Any, subject: Any) -> dict[str, Any]:
    """``model_view(r)`` in a template: what the model thought beside what was decided."""
    return model_view(subject, _rule_names(ctx))


for name, fn in {
    "localtime": localtime,
    "hours": hours_text,
    "percent": percent,
    "highlight": highlight,
    "excerpt": excerpt,
    "reason": _reason_filter,
    "urlquote": lambda s: quote(str(s or ""), safe=""),
    "mask": lambda s: mask_text(str(s)) if s else s,  # every free-text field a person typed
}.items():
    TEMPLATES.env.filters[name] = fn
TEMPLATES.env.globals.update(
    model_view=_model_view,
    STATUS=labels.STATUS,
    ROLE=labels.ROLE,
    PRIORITY=labels.PRIORITY,
    SOURCE=labels.SOURCE,
    ACTION=labels.ACTION,
    FIELD=labels.FIELD,
    LIST_KINDS=labels.LIST_KINDS,
    SATISFACTION=labels.SATISFACTION,
    FOLLOWUP_RATINGS=labels.FOLLOWUP_RATINGS,
    deadline_text=deadline_text,
)


def _department_name(request: Request, code: str | None) -> str:
    """The name of the user's department for the top bar (the code if the profile lacks it)."""
    service = getattr(request.app.state, "service", None)
    if not code or service is None:
        return code or ""
    return department_names(service).get(code, code)


def page_context(request: Request) -> dict[str, Any]:
    """What every page shows: the user and their navigation, the CSRF token, flash messages, and the
    field limits its forms state."""
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
        "user_department": _department_name(request, getattr(user, "department_code", None)),
        "nav": nav,
        "csrf_token": csrf_token(request),
        "flashes": pop_flashes(request),
        "path": request.url.path,
        # every form's data-maxlength: the one definition in api.limits, the text's from the settings
        "limits": FORM_LIMITS | {"text": request.app.state.settings.max_text_chars},
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


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_download(data: bytes, stem: str, chinese_stem: str) -> Response:
    """An XLSX attachment named ``<stem>-<local time>.xlsx`` (the Chinese name for browsers that
    read RFC 5987), never cached: every export of the pages goes out through here."""
    stamp = datetime.now(LOCAL_TZ).strftime("%Y%m%d-%H%M")
    chinese = quote(f"{chinese_stem}-{stamp}.xlsx")
    disposition = f"attachment; filename=\"{stem}-{stamp}.xlsx\"; filename*=UTF-8''{chinese}"
    return Response(
        data, media_type=XLSX_TYPE, headers={"Content-Disposition": disposition, "Cache-Control": "no-store"}
    )
