"""登录 / 退出: the login form (throttled), logout, and the start page of each role.

The session, CSRF and throttle mechanics are :mod:`api.web.session`'s; this module only
holds the pages.
"""

from __future__ import annotations

import math

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from api.limits import USERNAME_CHARS
from api.security import PASSWORD_MAX_CHARS, authenticate_password
from api.web.forms import form_raw, form_str, safe_next
from api.web.render import PageRoute, redirect, render
from api.web.session import (
    CsrfForm,
    PageUser,
    client_address,
    current_user,
    end_session,
    login_throttle,
    start_session,
)
from triage.store.models import Role

R = Role
HOME = {
    R.OPERATOR: "/intake",
    R.GRID_WORKER: "/intake",
    R.DEPUTY: "/grids",
    R.REVIEWER: "/review",
    R.DEPARTMENT: "/desk",
    R.ADMIN: "/dashboard",
}

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:
    if current_user(request) is not None:
        return redirect(safe_next(next) or "/")
    return render(request, "login.html", {"next": safe_next(next) or "", "errors": {}, "username": ""})


@router.post("/login")
async def login(request: Request, form: CsrfForm) -> Response:
    username = form_str(form, "username", USERNAME_CHARS)
    password = form_raw(form, "password")  # as typed: spaces belong to the password
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
    await run_in_threadpool(start_session, request, principal.id)
    return redirect(target or HOME.get(Role(principal.role), "/dashboard"))


@router.post("/logout")
async def logout(request: Request, form: CsrfForm) -> Response:
    await run_in_threadpool(end_session, request)
    return redirect("/login")


@router.get("/")
def home(user: PageUser) -> Response:
    return redirect(HOME.get(Role(user.role), "/dashboard"))
