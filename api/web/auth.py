"""Browser sessions: login form, signed session cookie, per-session CSRF token, role checks.

The cookie (Starlette's ``SessionMiddleware``, signed with itsdangerous) holds the user id,
a fingerprint of the password hash (a password change ends old sessions), the CSRF token
and flash messages. Every POST from a page must carry the CSRF token, as the
``csrf_token`` form field or the ``X-CSRF-Token`` header (scripts).
"""

from __future__ import annotations

import hmac
import logging
import os
import secrets
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import Response

from api.security import Principal, authenticate_password
from api.web.render import LoginRequired, PageError, PageRoute, redirect, render
from triage.store.models import Role
from triage.store.sessions import active_user, password_fingerprint

log = logging.getLogger(__name__)

R = Role
ALL_ROLES = frozenset(Role)
SUBMIT = frozenset({R.ADMIN, R.REVIEWER, R.OPERATOR, R.GRID_WORKER, R.DEPUTY})
REVIEW = frozenset({R.ADMIN, R.REVIEWER})
DESK = frozenset({R.ADMIN, R.DEPARTMENT})
FEEDBACK = frozenset({R.ADMIN, R.REVIEWER, R.OPERATOR, R.GRID_WORKER, R.DEPUTY})

NAV: list[tuple[str, str, frozenset[Role]]] = [
    ("/intake", "受理", SUBMIT),
    ("/review", "审核队列", REVIEW),
    ("/rereview", "待复核", REVIEW),
    ("/desk", "部门工作台", DESK),
    ("/grids", "网格与代表", ALL_ROLES),
    ("/dashboard", "统计看板", ALL_ROLES),
]
HOME = {
    R.OPERATOR: "/intake",
    R.GRID_WORKER: "/intake",
    R.DEPUTY: "/grids",
    R.REVIEWER: "/review",
    R.DEPARTMENT: "/desk",
    R.ADMIN: "/dashboard",
}
SESSION_MAX_AGE = 12 * 3600

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


# -- login throttling --------------------------------------------------------------------------
class LoginThrottle:
    """At most ``limit`` failed logins per user name within ``window`` seconds."""

    def __init__(self, limit: int = 8, window: float = 300.0) -> None:
        self.limit, self.window = limit, window
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def blocked(self, name: str) -> bool:
        now = time.monotonic()
        with self._lock:
            recent = [t for t in self._failures.get(name, []) if now - t < self.window]
            self._failures[name] = recent
            return len(recent) >= self.limit

    def failed(self, name: str) -> None:
        with self._lock:
            if len(self._failures) > 10_000:
                self._failures.clear()
            self._failures.setdefault(name, []).append(time.monotonic())

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(name, None)


_throttle = LoginThrottle()


# -- current user, CSRF, flash -----------------------------------------------------------------------
def _load_user(request: Request) -> Principal | None:
    cached = getattr(request.state, "page_user", None)
    if cached is not None:
        return cached
    uid = request.session.get("uid")
    if not isinstance(uid, int):
        return None
    found = active_user(request.app.state.db, uid)
    if found is None or request.session.get("pw") != password_fingerprint(found[0]):
        request.session.clear()
        return None
    user, grids = found
    principal = Principal(user.id or uid, user.username, user.role, user.department_code, grids)
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
    if user is None and "uid" in request.session:
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


def form_str(form: FormData, name: str, limit: int = 20_000) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


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
    username, password = form_str(form, "username", 64), form_str(form, "password", 256)
    target = safe_next(form_str(form, "next", 2000))
    errors: dict[str, str] = {}
    if not username:
        errors["username"] = "请输入用户名。"
    if not password:
        errors["password"] = "请输入密码。"
    if not errors:
        if _throttle.blocked(username):
            errors["password"] = "登录失败次数过多，请 5 分钟后再试。"
        else:
            principal = await run_in_threadpool(
                authenticate_password, request.app.state.db, username, password
            )
            if principal is None:
                _throttle.failed(username)
                errors["password"] = "用户名或密码不正确。"
    if errors:
        ctx = {"next": target or "", "errors": errors, "username": username}
        return render(request, "login.html", ctx, status=422)
    _throttle.succeeded(username)
    found = await run_in_threadpool(active_user, request.app.state.db, principal.id)
    request.session.clear()  # a fresh session (and CSRF token) for the new user
    request.session.update(uid=principal.id, pw=password_fingerprint(found[0]) if found else "")
    csrf_token(request)
    return redirect(target or HOME.get(Role(principal.role), "/dashboard"))


@router.post("/logout")
async def logout(request: Request, form: CsrfForm) -> Response:
    request.session.clear()
    return redirect("/login")


@router.get("/")
def home(user: PageUser) -> Response:
    return redirect(HOME.get(Role(user.role), "/dashboard"))
