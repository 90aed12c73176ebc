"""用户管理 (admins only): list users, disable / enable, reset a password, revoke API tokens.

The page calls the same functions as ``triage users …`` (api/accounts.py), so disabling a user
or revoking a token here stops their sessions and tokens at once, as from the CLI. Users are
addressed by id in the URLs (login names may hold any character). Every change is a POST with
the CSRF token.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from starlette.responses import Response

from api import accounts
from api.security import PASSWORD_MAX_CHARS, Principal
from api.web.auth import CsrfForm, PageUser, client_address, flash, require_role, session_store
from api.web.render import PageError, PageRoute, redirect, render
from triage.errors import TriageError
from triage.store.models import Role

router = APIRouter(route_class=PageRoute, include_in_schema=False)

ADMIN = frozenset({Role.ADMIN})
BASE = "/admin/users"


def _messages(request: Request) -> dict[str, str]:
    n = request.app.state.settings.password_min_length
    return {
        "unknown_user": "用户不存在。",
        "unknown_token": "令牌不存在或不属于该用户。",
        "last_admin": "这是最后一个启用的管理员账号，不能停用。",
        "password_too_short": f"密码至少需要 {n} 个字符。",
        "password_too_long": f"密码不能超过 {PASSWORD_MAX_CHARS} 个字符。",
    }


def _find(request: Request, user_id: int) -> accounts.UserInfo:
    found = accounts.list_users(request.app.state.db, user_id=user_id)
    if not found:
        raise PageError(404, "用户不存在。")
    return found[0]


def _detail(
    request: Request, target: accounts.UserInfo, errors: dict[str, str], status: int = 200
) -> Response:
    tokens = accounts.list_tokens(request.app.state.db, target.username)
    ctx = {
        "target": target,
        "tokens": tokens,
        "now": datetime.now(UTC),
        "errors": errors,
        "min_length": request.app.state.settings.password_min_length,
    }
    return render(request, "admin_user.html", ctx, status=status)


@router.get(BASE)
def users_page(request: Request, user: PageUser) -> Response:
    require_role(user, ADMIN)
    rows = accounts.list_users(request.app.state.db)
    return render(request, "admin_users.html", {"rows": rows, "me": user.id})


@router.get(BASE + "/{user_id}")
def user_page(request: Request, user_id: int, user: PageUser) -> Response:
    require_role(user, ADMIN)
    return _detail(request, _find(request, user_id), {})


def _set_active(request: Request, user_id: int, user: Principal, active: bool) -> Response:
    require_role(user, ADMIN)
    target = _find(request, user_id)
    if not active and target.id == user.id:
        flash(request, "不能停用自己的账号。", "error")
        return redirect(f"{BASE}/{user_id}")
    try:
        accounts.set_active(request.app.state.db, target.username, active)
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
    target = _find(request, user_id)
    password, again = form.get("password"), form.get("password2")
    password = password if isinstance(password, str) else ""
    errors: dict[str, str] = {}
    if not password:
        errors["password"] = "请输入新密码。"
    elif password != again:
        errors["password2"] = "两次输入的密码不一致。"
    else:
        try:
            accounts.set_password(
                request.app.state.db,
                target.username,
                password,
                min_length=request.app.state.settings.password_min_length,
            )
        except TriageError as exc:
            errors[exc.field or "password"] = _messages(request).get(exc.code, "密码不符合要求。")
    if errors:
        return _detail(request, target, errors, status=422)
    if target.id == user.id:  # the change ended all of one's sessions: keep this browser logged in
        request.session["sid"] = session_store(request).open(user.id, client_address(request))
        flash(request, "您的密码已修改，其他登录会话已全部结束。")
        return redirect(f"{BASE}/{user_id}")
    flash(request, f"用户 {target.username} 的密码已重置，其登录会话已全部结束。")
    return redirect(f"{BASE}/{user_id}")


@router.post(BASE + "/{user_id}/tokens/{token_id}/revoke")
def revoke_token(request: Request, user_id: int, token_id: int, user: PageUser, form: CsrfForm) -> Response:
    require_role(user, ADMIN)
    target = _find(request, user_id)
    try:
        info = accounts.revoke_token(request.app.state.db, token_id, username=target.username)
    except TriageError as exc:
        flash(request, _messages(request).get(exc.code, "操作未能完成。"), "error")
        return redirect(f"{BASE}/{user_id}")
    flash(request, f"令牌 {info.id}（{info.name or '未命名'}）已吊销，立即失效。")
    return redirect(f"{BASE}/{user_id}")
