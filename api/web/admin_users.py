"""用户管理 (admins only): list and create users, change a role and its scope, disable / enable,
reset a password, revoke API tokens.

The page calls the account actions (:mod:`api.actions.accounts`, over the same functions as
``triage users …`` in api/accounts.py), so disabling a user
or revoking a token here stops their sessions and tokens at once, as from the CLI. Users are
addressed by id in the URLs (login names may hold any character). Every change is a POST with
the CSRF token.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from api import accounts
from api.access import ADMIN
from api.actions import accounts as actions
from api.actions.supervision import department_names
from api.limits import DEPARTMENT_CODE_CHARS, GRID_CHARS
from api.security import PASSWORD_MAX_CHARS, Principal
from api.web.forms import form_str
from api.web.labels import ROLE
from api.web.render import PageRoute, redirect, render
from api.web.session import CsrfForm, PageError, PageUser, flash, renew_session, require_role
from triage.errors import TriageError

router = APIRouter(route_class=PageRoute, include_in_schema=False)

BASE = "/admin/users"


def _messages(request: Request) -> dict[str, str]:
    n = request.app.state.settings.password_min_length
    return {
        "unknown_user": "用户不存在。",
        "unknown_token": "令牌不存在或不属于该用户。",
        "last_admin": "这是最后一个启用的管理员账号，不能停用。",
        "password_too_short": f"密码至少需要 {n} 个字符。",
        "password_too_long": f"密码不能超过 {PASSWORD_MAX_CHARS} 个字符。",
        "bad_username": "登录名须为 1 到 64 个字符。",
        "user_exists": "该登录名已被使用。",
        "unknown_role": "请选择有效的角色。",
        "department_required": "部门账号须选择所属部门。",
        "unknown_department": "请选择有效的部门。",
        "grid_required": "网格员和人大代表须至少填写一个网格。",
    }


# How a scope error names its field on the form (the store names the CLI's options).
FORM_FIELD = {"name": "username", "department": "department_code", "grid": "grids"}
GRID_SEPARATORS = re.compile(r"[\s,，、;；]+")
NEW_USER_FIELDS = ("username", "display_name", "role", "department_code", "grids")
MAX_GRIDS = 50  # grids one account may cover on the form


def _scope_from(form: Any, errors: dict[str, str]) -> tuple[str, str | None, list[str]]:
    """Role, department and grids as typed on a form (errors filled in, named by form field)."""
    role = form_str(form, "role", 32)
    department = form_str(form, "department_code", DEPARTMENT_CODE_CHARS) or None
    grids = [g for g in GRID_SEPARATORS.split(form_str(form, "grids", 2000)) if g]
    if len(grids) > MAX_GRIDS:
        errors["grids"] = f"最多填写 {MAX_GRIDS} 个网格。"
    elif any(len(g) > GRID_CHARS for g in grids):
        errors["grids"] = f"网格编号不能超过 {GRID_CHARS} 个字符。"
    return role, department, grids


def _store_error(request: Request, exc: TriageError, errors: dict[str, str]) -> None:
    field = FORM_FIELD.get(exc.field or "", exc.field or "username")
    errors[field] = _messages(request).get(exc.code, "输入不符合要求。")


def _find(request: Request, user: Principal, user_id: int) -> accounts.UserInfo:
    found = actions.users(request.app.state.db, user, user_id=user_id)
    if not found:
        raise PageError(404, "用户不存在。")
    return found[0]


def _detail(
    request: Request,
    user: Principal,
    target: accounts.UserInfo,
    errors: dict[str, str],
    status: int = 200,
    *,
    new_token: str | None = None,
) -> Response:
    tokens = actions.tokens(request.app.state.db, user, target.username)
    ctx = {
        "target": target,
        "tokens": tokens,
        "roles": ROLE,
        "departments": request.app.state.service.catalog.departments(),
        "department_names": department_names(request.app.state.service),
        "new_token": new_token,
        "now": datetime.now(UTC),
        "errors": errors,
        "min_length": request.app.state.settings.password_min_length,
    }
    return render(request, "admin_user.html", ctx, status=status)


@router.get(BASE)
def users_page(request: Request, user: PageUser) -> Response:
    require_role(user, ADMIN)
    rows = actions.users(request.app.state.db, user)
    ctx = {"rows": rows, "me": user.id, "department_names": department_names(request.app.state.service)}
    return render(request, "admin_users.html", ctx)


def _new_form(
    request: Request, errors: dict[str, str], values: dict[str, str], status: int = 200
) -> Response:
    ctx = {
        "errors": errors,
        "values": values,
        "roles": ROLE,
        "departments": request.app.state.service.catalog.departments(),
        "min_length": request.app.state.settings.password_min_length,
    }
    return render(request, "admin_user_new.html", ctx, status=status)


@router.get(BASE + "/new")
def new_user_page(request: Request, user: PageUser) -> Response:
    require_role(user, ADMIN)
    return _new_form(request, {}, {})


@router.post(BASE + "/new")
def create_user(request: Request, user: PageUser, form: CsrfForm) -> Response:
    """新建账号: the account and its first API token, shown once on the page that follows."""
    require_role(user, ADMIN)
    errors: dict[str, str] = {}
    values = {
        n: form_str(form, n, 2000) for n in ("username", "display_name", "role", "department_code", "grids")
    }
    role, department, grids = _scope_from(form, errors)
    password, again = form.get("password"), form.get("password2")
    password = password if isinstance(password, str) and password else None
    if password is not None and password != again:
        errors["password2"] = "两次输入的密码不一致。"
    if not errors:
        try:
            created, token = actions.create(
                request.app.state.db, user, values["username"], role, department_code=department, grids=grids,
                password=password, display_name=values["display_name"],
                min_length=request.app.state.settings.password_min_length,
            )  # fmt: skip
        except TriageError as exc:
            _store_error(request, exc, errors)
    if errors:
        return _new_form(request, errors, values, status=422)
    assert created.id is not None
    flash(request, f"已创建账号 {created.username}。")
    return _detail(request, user, _find(request, user, created.id), {}, status=201, new_token=token)


@router.post(BASE + "/{user_id}/role")
def change_role(request: Request, user_id: int, user: PageUser, form: CsrfForm) -> Response:
    """Another role or scope; the user's sessions end, so the new rights apply at once."""
    require_role(user, ADMIN)
    target = _find(request, user, user_id)
    errors: dict[str, str] = {}
    role, department, grids = _scope_from(form, errors)
    if not errors:
        try:
            actions.set_role(
                request.app.state.db, user, target.username, role, department_code=department, grids=grids
            )
        except TriageError as exc:
            _store_error(request, exc, errors)
            if exc.code == "last_admin":
                errors = {"role": _messages(request)["last_admin"]}
    if errors:
        return _detail(request, user, target, errors, status=422)
    if target.id == user.id:
        renew_session(request, user.id)
    flash(request, f"用户 {target.username} 的角色和范围已更新，其登录会话已结束。")
    return redirect(f"{BASE}/{user_id}")


@router.get(BASE + "/{user_id}")
def user_page(request: Request, user_id: int, user: PageUser) -> Response:
    require_role(user, ADMIN)
    return _detail(request, user, _find(request, user, user_id), {})


def _set_active(request: Request, user_id: int, user: Principal, active: bool) -> Response:
    require_role(user, ADMIN)
    target = _find(request, user, user_id)
    if not active and target.id == user.id:
        flash(request, "不能停用自己的账号。", "error")
        return redirect(f"{BASE}/{user_id}")
    try:
        actions.set_active(request.app.state.db, user, target.username, active)
    except TriageError as exc:
        flash(request, _messages(request).get(exc.code, "操作未能完成。"), "error")
        return redirect(f"{BASE}/{user_id}")
    done = "已启用" if active else "已停用，其登录会话和 API 令牌立即失效"
    flash(request, f"用户 {target.username} {done}。")
    return redirect(f"{BASE}/{user_id}")


@router.post(BASE + "/{user_id}/disable")
def disable_user(request: Request, user_id: int, user: PageUser, form: CsrfForm) -> Response:
    return _set_active(request, user_id, user, False)


@router.post(BASE + "/{user_id}/enable")
def enable_user(request: Request, user_id: int, user: PageUser, form: CsrfForm) -> Response:
    return _set_active(request, user_id, user, True)


@router.post(BASE + "/{user_id}/password")
def reset_password(request: Request, user_id: int, user: PageUser, form: CsrfForm) -> Response:
    require_role(user, ADMIN)
    target = _find(request, user, user_id)
    password, again = form.get("password"), form.get("password2")
    password = password if isinstance(password, str) else ""
    errors: dict[str, str] = {}
    if not password:
        errors["password"] = "请输入新密码。"
    elif password != again:
        errors["password2"] = "两次输入的密码不一致。"
    else:
        try:
            actions.reset_password(
                request.app.state.db,
                user,
                target.username,
                password,
                min_length=request.app.state.settings.password_min_length,
            )
        except TriageError as exc:
            errors[exc.field or "password"] = _messages(request).get(exc.code, "密码不符合要求。")
    if errors:
        return _detail(request, user, target, errors, status=422)
    if target.id == user.id:  # the change ended all of one's sessions: keep this browser logged in
        renew_session(request, user.id)
        flash(request, "您的密码已修改，其他登录会话已全部结束。")
        return redirect(f"{BASE}/{user_id}")
    flash(request, f"用户 {target.username} 的密码已重置，其登录会话已全部结束。")
    return redirect(f"{BASE}/{user_id}")


@router.post(BASE + "/{user_id}/tokens/{token_id}/revoke")
def revoke_token(request: Request, user_id: int, token_id: int, user: PageUser, form: CsrfForm) -> Response:
    require_role(user, ADMIN)
    target = _find(request, user, user_id)
    try:
        info = actions.revoke_token(request.app.state.db, user, token_id, target.username)
    except TriageError as exc:
        flash(request, _messages(request).get(exc.code, "操作未能完成。"), "error")
        return redirect(f"{BASE}/{user_id}")
    flash(request, f"令牌 {info.id}（{info.name or '未命名'}）已吊销，立即失效。")
    return redirect(f"{BASE}/{user_id}")
