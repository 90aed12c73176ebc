"""Browser sessions: the signing key, the server-side session, the login throttle, CSRF and flash.

The cookie (Starlette's ``SessionMiddleware``, signed with itsdangerous; ``HttpOnly``,
``SameSite=Lax``, ``Secure`` with the ``session_https_only`` setting) holds a random session id,
the CSRF token and flash messages. The session itself is a row in ``web_sessions``
(triage/store/sessions.py): logout, a password change or disabling the user ends it on the
server, and it ends after ``session_idle_minutes`` without a request. Logins are throttled per
client address and per account in the database, shared by every worker
(triage/store/throttle.py). Every POST from a page must carry the CSRF token, as the
``csrf_token`` form field or the ``X-CSRF-Token`` header (scripts).

The lowest layer of the web UI: it imports nothing else from ``api.web``, so templating and
pages build on it and never the other way round.
"""

from __future__ import annotations

import hmac
import logging
import os
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.datastructures import FormData

from api.security import Principal
from triage.config import Settings
from triage.store.models import Role
from triage.store.sessions import SessionPolicy, SessionStore
from triage.store.throttle import LoginThrottle, ThrottlePolicy

log = logging.getLogger(__name__)


class PageError(Exception):
    """A failure to show as an error page (status + Chinese message)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class LoginRequired(Exception):
    """No (valid) session: send the browser to the login form."""


# -- the signing key ------------------------------------------------------------------------------
def session_secret(settings: Settings) -> str:
    """``Settings.session_secret`` (``TRIAGE_SESSION_SECRET``); else a key file shared by all
    workers on this machine, so a cookie signed by one worker is valid in every other."""
    if settings.session_secret:
        return settings.session_secret
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


def cookie_max_age(settings: Settings) -> int:
    """Seconds the browser keeps the cookie: the session's absolute lifetime (the server decides)."""
    return int(SessionPolicy.from_settings(settings).max_age.total_seconds())


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


def start_session(request: Request, user_id: int) -> None:
    """A fresh session (and CSRF token) for ``user_id`` in this browser, ending the one it had."""
    store = session_store(request)
    old = request.session.get("sid")
    if isinstance(old, str):  # someone else was logged in in this browser: end that session
        store.revoke(old)
    sid = store.open(user_id, client_address(request))
    request.session.clear()
    request.session["sid"] = sid
    csrf_token(request)


def renew_session(request: Request, user_id: int) -> None:
    """A new server-side session for this browser after a password change ended all of the user's."""
    request.session["sid"] = session_store(request).open(user_id, client_address(request))


def end_session(request: Request) -> None:
    """Log out: the server-side session ends (a saved copy of the cookie is dead too)."""
    sid = request.session.get("sid")
    if isinstance(sid, str):
        session_store(request).revoke(sid)
    request.session.clear()


# -- current user -----------------------------------------------------------------------------------
def current_user(request: Request) -> Principal | None:
    """The logged-in user of this request, or None (cached on the request)."""
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
    principal = current_user(request)
    if principal is None:
        raise LoginRequired
    return principal


PageUser = Annotated[Principal, Depends(page_user)]


def require_role(user: Principal, roles: Iterable[Role]) -> None:
    """The page-level gate: a page the role may not open is a 403 page (the actions check again)."""
    if user.role not in {r.value for r in roles}:
        raise PageError(403, "您的账号无权访问此页面。")


# -- CSRF and flash ---------------------------------------------------------------------------------
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


def pop_flashes(request: Request) -> list[Any]:
    """The flash messages to show on this page (shown once)."""
    return list(request.session.pop("flash", []))
