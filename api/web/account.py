"""修改密码: every logged-in user changes their own password.

The current password is checked through the login throttle (a stolen session must not become a
password-guessing oracle). The change ends every session of the user — other browsers, saved
cookies — and this browser gets a fresh one, so the user stays logged in here.
"""

from __future__ import annotations

import math

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from api.actions import accounts
from api.security import PASSWORD_MAX_CHARS, authenticate_password
from api.web.forms import form_raw
from api.web.render import PageRoute, redirect, render
from api.web.session import CsrfForm, PageUser, client_address, flash, login_throttle, renew_session
from triage.errors import TriageError

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PATH = "/account/password"


def _form(request: Request, errors: dict[str, str], status: int = 200) -> Response:
    ctx = {"errors": errors, "min_length": request.app.state.settings.password_min_length}
    return render(request, "account_password.html", ctx, status=status)


@router.get(PATH)
def password_form(request: Request, user: PageUser) -> Response:
    return _form(request, {})


@router.post(PATH)
async def change_password(request: Request, user: PageUser, form: CsrfForm) -> Response:
    current, new, again = form_raw(form, "current"), form_raw(form, "password"), form_raw(form, "password2")
    min_length = request.app.state.settings.password_min_length
    errors: dict[str, str] = {}
    if not current:
        errors["current"] = "请输入当前密码。"
    if not new:
        errors["password"] = "请输入新密码。"
    elif len(new) < min_length:
        errors["password"] = f"密码至少需要 {min_length} 个字符。"
    elif len(new) > PASSWORD_MAX_CHARS:
        errors["password"] = f"密码不能超过 {PASSWORD_MAX_CHARS} 个字符。"
    elif new != again:
        errors["password2"] = "两次输入的密码不一致。"
    if errors:
        return _form(request, errors, 422)
    address, throttle, db = client_address(request), login_throttle(request), request.app.state.db
    wait = await run_in_threadpool(throttle.begin, user.username, address)
    if wait > 0:
        seconds = math.ceil(wait)
        response = _form(request, {"current": f"尝试过于频繁，请 {seconds} 秒后再试。"}, 429)
        response.headers["Retry-After"] = str(seconds)
        return response
    if await run_in_threadpool(authenticate_password, db, user.username, current) is None:
        return _form(request, {"current": "当前密码不正确。"}, 422)
    await run_in_threadpool(throttle.succeeded, user.username, address)
    try:
        await run_in_threadpool(accounts.change_own_password, db, user, new, min_length=min_length)
    except TriageError as exc:
        return _form(request, {exc.field or "password": "新密码不符合要求。"}, 422)
    await run_in_threadpool(renew_session, request, user.id)
    flash(request, "密码已修改，您在其他设备上的登录已全部退出。")
    return redirect(PATH)
