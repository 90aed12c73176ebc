"""Browser sessions: login form, signed session cookie, per-session CSRF token, role checks.

The cookie (Starlette's ``SessionMiddleware``, signed with itsdangerous; ``HttpOnly``,
``SameSite=Lax``, ``Secure`` with the ``session_https_only`` setting) holds a random session id,
the CSRF token and flash messages. The session itself is a row in ``web_sessions``
(triage/store/sessions.py): logout, a password change or disabling the user ends it on the
server, and it ends after ``session_idle_minutes`` without a request. Logins are throttled per
client address and per account in the database, shared by every worker
(triage/store/throttle.py). Every POST from a page must carry the CSRF token, as the
``csrf_token`` form field or the ``X-CSRF-Token`` header (scripts).
"""

from __future__ import annotations

import hmac
import logging
import math
import os
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import Response

from api.access import DESK, FEEDBACK, REVIEW, SUBMIT  # noqa: F401  (one rule set, re-exported for pages)
from api.security import PASSWORD_MAX_CHARS, Principal, authenticate_password
from api.web.render import LoginRequired, PageError, PageRoute, redirect, render
from triage.errors import InputError
from triage.store.models import Role
from triage.store.sessions import SessionPolicy, SessionStore
from triage.store.throttle import LoginThrottle, ThrottlePolicy

log = logging.getLogger(__name__)

R = Role
ALL_ROLES = frozenset(Role)

NAV: list[tuple[str, str, frozenset[Role]]] = [
    ("/intake", "受理", SUBMIT),
    ("/review", "审核队列", REVIEW),
    ("/rereview", "待复核", REVIEW),
    ("/desk", "部门工作台", DESK),
    ("/grids", "网格与代表", ALL_ROLES),
    ("/dashboard", "统计看板", ALL_ROLES),
    ("/admin/users", "用户管理", frozenset({R.ADMIN})),
]
HOME = {
    R.OPERATOR: "/intake",
    R.GRID_WORKER: "/intake",
    R.DEPUTY: "/grids",
    R.REVIEWER: "/review",
    R.DEPARTMENT: "/desk",
    R.ADMIN: "/dashboard",
}


def cookie_max_age(settings: Any) -> int:
    """Seconds the browser keeps the cookie: the session's absolute lifetime (the server decides)."""
    return int(SessionPolicy.from_settings(settings).max_age.total_seconds())

router = APIRouter(route_class=PageRoute, include_in_schema=False)


# -- the signing key ------------------------------------------------------------------------------
def session_secret(settings: Any) -> str:
    """Setting/env ``TRIAGE_SESSION_SECRET``; else a key file shared by all workers on this machine."""
    explicit = getattr(settings, "session_secret", None) or os.environ.get("TRIAGE_SESSION_SECRET")
    if explicit:
        return str(explicit)
    state = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    path = state / "petition-triage" / "session.key"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            key = path.read_text().strip()
            if len(key) >= 32:
                return key
            raise OSError(f"session key file {path} is damaged") from None
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
        return path.read_text().strip()
    except OSError as exc:
        log.warning("no shared session key (%s); sessions end when this process exits", exc)
        return secrets.token_urlsafe(48)


# -- server-side sessions and the login throttle (one of each per app and database) -------------
def session_store(request: Request) -> SessionStore:
    app = request.app
    store = getattr(app.state, "web_sessions", None)
    if store is None or store.db is not app.state.db:
        policy = SessionPolicy.from_settings(app.state.settings)
        store = app.state.web_sessions = SessionStore(app.state.db, policy)
    return store


def login_throttle(request: Request) -> LoginThrottle:
    app = request.app
    throttle = getattr(app.state, "login_throttle", None)
    if throttle is None or throttle.db is not app.state.db:
        policy = ThrottlePolicy.from_settings(app.state.settings)
        throttle = app.state.login_throttle = LoginThrottle(app.state.db, policy)
    return throttle


def client_address(request: Request) -> str:
    """The peer address (uvicorn puts a trusted proxy's X-Forwarded-For here: FORWARDED_ALLOW_IPS)."""
    return request.client.host if request.client else ""


# -- current user, CSRF, flash -----------------------------------------------------------------------
def _load_user(request: Request) -> Principal | None:
    cached = getattr(request.state, "page_user", None)
    if cached is not None:
        return cached
    sid = request.session.get("sid")
    if not isinstance(sid, str):
        return None
    found = session_store(request).resolve(sid)
    if found is None:  # logged out, revoked, idle, expired, disabled or password changed
        request.session.clear()
        return None
    user, grids = found
    assert user.id is not None
    principal = Principal(user.id, user.username, user.role, user.department_code, grids)
    request.state.page_user = principal
    request.state.page_user_name = user.display_name or user.username
    return principal


def page_user(request: Request) -> Principal:
    """Dependency: the logged-in user, or a redirect to the login form."""
    principal = _load_user(request)
    if principal is None:
        raise LoginRequired
    return principal


PageUser = Annotated[Principal, Depends(page_user)]


def require_role(user: Principal, roles: Iterable[Role]) -> None:
    if user.role not in {r.value for r in roles}:
        raise PageError(403, "您的账号无权访问此页面。")


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


def check_csrf(request: Request, sent: object) -> None:
    expected = request.session.get("csrf")
    if not (isinstance(sent, str) and isinstance(expected, str) and hmac.compare_digest(sent, expected)):
        raise PageError(403, "页面已过期，请刷新后重试。")


async def csrf_form(request: Request) -> FormData:
    """Dependency for every page POST: the parsed form, after the CSRF check."""
    form = await request.form()
    check_csrf(request, form.get("csrf_token") or request.headers.get("x-csrf-token"))
    return form


CsrfForm = Annotated[FormData, Depends(csrf_form)]


def flash(request: Request, message: str, level: str = "ok") -> None:
    # Reassign: the session only notices top-level changes, not a list mutated in place.
    request.session["flash"] = [*request.session.get("flash", []), [level, message]][-5:]


def page_context(request: Request) -> dict[str, Any]:
    user = getattr(request.state, "page_user", None)
    if user is None and "sid" in request.session:
        try:
            user = _load_user(request)
        except Exception:  # error pages must render even when the database is down
            user = None
    nav = [(href, label) for href, label, roles in NAV if user is not None and user.role in roles]
    return {
        "user": user,
        "user_name": getattr(request.state, "page_user_name", user.username if user else ""),
        "nav": nav,
        "csrf_token": csrf_token(request),
        "flashes": request.session.pop("flash", []),
        "path": request.url.path,
    }


def form_str(form: FormData, name: str, limit: int | None = None) -> str:
    """A form field, trimmed, never cut: over ``limit`` characters is an InputError naming the
    field (``too_long``), so a page refuses the value instead of storing part of it."""
    value = form.get(name)
    value = value.strip() if isinstance(value, str) else ""
    if limit is not None and len(value) > limit:
        raise InputError(
            f"{name} is too long ({len(value)} characters; the limit is {limit})", code="too_long", field=name
        )
    return value


def safe_next(target: str | None) -> str | None:
    """Only local paths (no scheme, no host, not protocol-relative)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    return None if parts.scheme or parts.netloc else target


# -- routes -----------------------------------------------------------------------------------------
@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:
    if _load_user(request) is not None:
        return redirect(safe_next(next) or "/")
    return render(request, "login.html", {"next": safe_next(next) or "", "errors": {}, "username": ""})


@router.post("/login")
async def login(request: Request, form: CsrfForm) -> Response:
    username = form_str(form, "username", 64)
    raw = form.get("password")
    password = raw if isinstance(raw, str) else ""  # as typed: spaces belong to the password
    target = safe_next(form_str(form, "next", 2000))
    errors: dict[str, str] = {}
    status, headers = 422, {}
    if not username:
        errors["username"] = "请输入用户名。"
    if not password:
        errors["password"] = "请输入密码。"
    elif len(password) > PASSWORD_MAX_CHARS:
        errors["password"] = f"密码不能超过 {PASSWORD_MAX_CHARS} 个字符。"
    principal = None
    if not errors:
        address, throttle = client_address(request), login_throttle(request)
        wait = await run_in_threadpool(throttle.begin, username, address)
        if wait > 0:
            seconds = math.ceil(wait)
            errors["password"] = f"登录尝试过于频繁，请 {seconds} 秒后再试。"
            status, headers = 429, {"Retry-After": str(seconds)}
        else:
            db = request.app.state.db
            principal = await run_in_threadpool(authenticate_password, db, username, password)
            if principal is None:
                errors["password"] = "用户名或密码不正确。"
            else:
                await run_in_threadpool(throttle.succeeded, username, address)
    if errors or principal is None:
        ctx = {"next": target or "", "errors": errors, "username": username}
        response = render(request, "login.html", ctx, status=status)
        response.headers.update(headers)
        return response
    store = session_store(request)
    old = request.session.get("sid")
    if isinstance(old, str):  # someone else was logged in in this browser: end that session
        await run_in_threadpool(store.revoke, old)
    sid = await run_in_threadpool(store.open, principal.id, client_address(request))
    request.session.clear()  # a fresh session (and CSRF token) for the new user
    request.session["sid"] = sid
    csrf_token(request)
    return redirect(target or HOME.get(Role(principal.role), "/dashboard"))


@router.post("/logout")
async def logout(request: Request, form: CsrfForm) -> Response:
    sid = request.session.get("sid")
    if isinstance(sid, str):
        await run_in_threadpool(session_store(request).revoke, sid)  # a saved copy of the cookie is dead too
    request.session.clear()
    return redirect("/login")


@router.get("/")
def home(user: PageUser) -> Response:
    return redirect(HOME.get(Role(user.role), "/dashboard"))
