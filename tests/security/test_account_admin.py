"""Issue #13 item 9: admins create accounts and change a user's role and scope on the page (and
with ``triage users role``); the new rights apply to the next request, the last admin keeps the
role, and every bad field is named. SQLite and PostgreSQL."""

from __future__ import annotations

import re

import pytest
from support.api_env import ApiEnv
from test_web_support import WebUser, field_block

from api import accounts
from api.security import create_user, hash_password
from triage.store.errors import ValidationError

PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="module")
def api(api_env: ApiEnv) -> ApiEnv:
    return api_env


@pytest.fixture(scope="module")
def admin(api: ApiEnv) -> WebUser:
    return WebUser(api.app, "admin")


def _info(api: ApiEnv, name: str) -> accounts.UserInfo:
    return next(u for u in accounts.list_users(api.app.state.db) if u.username == name)


def _bearer(api: ApiEnv, token: str, path: str):
    return api.client.get(path, headers={"Authorization": f"Bearer {token}"})


def test_admin_creates_an_account_and_sees_its_token_once(api: ApiEnv, admin: WebUser) -> None:
    form = admin.get("/admin/users/new")
    assert form.status_code == 200 and 'id="role"' in form.text and "住房和城乡建设局" in form.text
    r = admin.post(
        "/admin/users/new",
        {"username": "new_dept", "display_name": "住建 小王", "role": "department",
         "department_code": "housing", "grids": "", "password": PASSWORD, "password2": PASSWORD},
    )  # fmt: skip
    assert r.status_code == 201, r.text[:2000]
    token = re.search(r'<code class="token">([^<]+)</code>', r.text).group(1)
    assert "只显示这一次" in r.text and "已创建账号 new_dept" in r.text
    assert _bearer(api, token, "/api/v1/cases").status_code == 200
    info = _info(api, "new_dept")
    assert (info.role, info.department_code, info.display_name) == ("department", "housing", "住建 小王")
    assert token not in admin.get(f"/admin/users/{info.id}").text  # never shown again
    assert WebUser(api.app, None).login("new_dept", PASSWORD).status_code == 303
    grid = admin.post(
        "/admin/users/new",
        {"username": "new_grid", "role": "grid_worker", "grids": "G001，G002 G001"},
    )
    assert grid.status_code == 201 and _info(api, "new_grid").grids == ("G001", "G002")


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"username": "", "role": "reviewer"}, "username", "登录名"),
        ({"username": "admin", "role": "reviewer"}, "username", "已被使用"),
        ({"username": "x_role", "role": "wizard"}, "role", "有效的角色"),
        ({"username": "x_dept", "role": "department"}, "department_code", "须选择所属部门"),
        (
            {"username": "x_dept2", "role": "department", "department_code": "nowhere"},
            "department_code",
            "有效的部门",
        ),
        ({"username": "x_grid", "role": "grid_worker"}, "grids", "至少填写一个网格"),
        (
            {"username": "x_pw", "role": "reviewer", "password": "short", "password2": "short"},
            "new-password",
            "至少",
        ),
        (
            {"username": "x_pw2", "role": "reviewer", "password": PASSWORD, "password2": "other"},
            "new-password2",
            "不一致",
        ),
    ],
)
def test_create_names_the_bad_field(
    api: ApiEnv, admin: WebUser, form: dict, field: str, message: str
) -> None:
    r = admin.post("/admin/users/new", form)
    assert r.status_code == 422
    assert message in field_block(r.text, field)
    assert form["username"] in ("", "admin") or form["username"] not in {
        u.username for u in accounts.list_users(api.app.state.db)
    }


def test_role_change_applies_to_the_next_request(api: ApiEnv, admin: WebUser) -> None:
    user, token = create_user(
        api.app.state.db, "promote_me", "operator", password_hash=hash_password(PASSWORD)
    )
    browser = WebUser(api.app, None)
    assert browser.login("promote_me", PASSWORD).status_code == 303
    assert _bearer(api, token, "/api/v1/review-queue").status_code == 403
    assert browser.get("/review").status_code == 403
    r = admin.post(f"/admin/users/{user.id}/role", {"role": "reviewer"})
    assert r.status_code == 303 and "已更新" in admin.follow(r).text
    assert _bearer(api, token, "/api/v1/review-queue").status_code == 200  # the token cache re-reads
    assert browser.get("/review").status_code == 303  # the session ended: log in again
    r = admin.post(f"/admin/users/{user.id}/role", {"role": "department"})
    assert r.status_code == 422 and "须选择所属部门" in field_block(r.text, "department_code")
    assert _info(api, "promote_me").role == "reviewer"
    r = admin.post(f"/admin/users/{user.id}/role", {"role": "deputy", "grids": "G002"})
    assert r.status_code == 303 and _info(api, "promote_me").grids == ("G002",)
    assert (
        WebUser(api.app, "reviewer").post(f"/admin/users/{user.id}/role", {"role": "admin"}).status_code
        == 403
    )


def test_the_last_admin_keeps_the_role(api: ApiEnv) -> None:
    db = api.app.state.db
    admins = [u for u in accounts.list_users(db, role="admin", active=True)]
    for u in admins[1:]:
        accounts.set_active(db, u.username, False)
    try:
        with pytest.raises(ValidationError) as info:
            accounts.set_role(db, admins[0].username, "reviewer")
        assert info.value.code == "last_admin"
    finally:
        for u in admins[1:]:
            accounts.set_active(db, u.username, True)
    assert _info(api, admins[0].username).role == "admin"


def test_cli_changes_a_role(api: ApiEnv, monkeypatch) -> None:
    import typer
    from typer.testing import CliRunner

    from api.cli import register
    from triage.config import get_settings

    monkeypatch.setenv("TRIAGE_DATABASE_URL", api.app.state.db.url)
    get_settings.cache_clear()
    app = typer.Typer()
    register(app)
    create_user(api.app.state.db, "cli_role", "operator")
    try:
        run = CliRunner().invoke
        res = run(
            app, ["users", "role", "cli_role", "--role", "grid_worker", "--grid", "G001", "--grid", "G003"]
        )
        assert res.exit_code == 0, res.output
        assert (_info(api, "cli_role").role, _info(api, "cli_role").grids) == (
            "grid_worker",
            ("G001", "G003"),
        )
        bad = run(app, ["users", "role", "cli_role", "--role", "department"])
        assert bad.exit_code == 2 and "error: department:" in bad.output
    finally:
        get_settings.cache_clear()
