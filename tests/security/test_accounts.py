"""Finding 9: accounts can be listed, disabled and enabled, passwords changed and tokens revoked,
from the CLI and the admin page; tokens record their last use; a disabled user's sessions and
tokens stop at once (the token cache cannot serve them). SQLite and PostgreSQL.
"""

from __future__ import annotations

import functools
import re

import pytest
import typer
from sqlmodel import select
from support.api_env import ApiEnv
from test_web_support import WebUser, field_block
from typer.testing import CliRunner

from api import accounts
from api.security import create_user, hash_password
from triage.store.errors import ValidationError
from triage.store.models import ApiToken, User

PASSWORD = "correct-horse-battery"


@functools.cache
def _hash() -> str:
    return hash_password(PASSWORD)


def _user(db, name: str, role: str = "reviewer") -> str:
    """A fresh user (so tests don't disable each other's accounts); returns its API token."""
    return create_user(db, name, role, password_hash=_hash())[1]


def _get(api: ApiEnv, token: str):
    return api.client.get("/api/v1/review-queue", headers={"Authorization": f"Bearer {token}"})


@pytest.fixture(scope="module")
def api(api_env: ApiEnv) -> ApiEnv:
    return api_env


# -- tokens and the cache ------------------------------------------------------------------------
def test_disabling_stops_tokens_and_sessions_at_once(api: ApiEnv) -> None:
    db = api.app.state.db
    token = _user(db, "acct_off")
    browser = WebUser(api.app, None)
    assert browser.login("acct_off", PASSWORD).status_code == 303
    assert _get(api, token).status_code == 200  # now in the token cache
    accounts.set_active(db, "acct_off", False)
    assert _get(api, token).status_code == 401  # at once, not after the cache's TTL
    assert browser.get("/review").status_code == 303
    accounts.set_active(db, "acct_off", True)
    assert _get(api, token).status_code == 200  # the token was not revoked, only refused


def test_a_disable_written_by_another_worker_is_seen(api: ApiEnv) -> None:
    token = _user(api.app.state.db, "acct_other_worker")
    assert _get(api, token).status_code == 200
    with api.app.state.db.session(write=True) as session:  # as another process would
        row = session.exec(select(User).where(User.username == "acct_other_worker")).one()
        row.active = False
        session.add(row)
    assert _get(api, token).status_code == 401


def test_a_revoked_token_stops_at_once_and_others_keep_working(api: ApiEnv) -> None:
    db = api.app.state.db
    first = _user(db, "acct_tokens")
    from api.security import new_token_for

    second = new_token_for(db, "acct_tokens", name="script")
    assert _get(api, first).status_code == 200 and _get(api, second).status_code == 200
    listed = accounts.list_tokens(db, "acct_tokens")
    script = next(t for t in listed if t.name == "script")
    accounts.revoke_token(db, script.id, username="acct_tokens")
    assert _get(api, second).status_code == 401 and _get(api, first).status_code == 200
    with pytest.raises(ValidationError) as info:
        accounts.revoke_token(db, script.id, username="reviewer")  # not that user's token
    assert info.value.field == "token_id"
    with pytest.raises(ValidationError):
        accounts.revoke_token(db, 10**20)  # no overflow error on PostgreSQL


def test_tokens_record_their_last_use_at_most_once_a_minute(api: ApiEnv) -> None:
    db = api.app.state.db
    token = _user(db, "acct_last_used")
    (before,) = accounts.list_tokens(db, "acct_last_used")
    assert before.last_used_at is None
    assert _get(api, token).status_code == 200
    (first,) = accounts.list_tokens(db, "acct_last_used")
    assert first.last_used_at is not None
    assert _get(api, token).status_code == 200
    (second,) = accounts.list_tokens(db, "acct_last_used")
    assert second.last_used_at == first.last_used_at  # no write per request
    users = {u.username: u for u in accounts.list_users(db)}
    assert users["acct_last_used"].token_last_used_at == first.last_used_at


def test_passwords_follow_the_minimum_length(api: ApiEnv) -> None:
    db = api.app.state.db
    with pytest.raises(ValidationError) as info:
        create_user(db, "acct_short", "reviewer", password="short-pw", min_password_length=10)
    assert info.value.field == "password" and info.value.code == "password_too_short"
    _user(db, "acct_pw")
    with pytest.raises(ValidationError) as info:
        accounts.set_password(db, "acct_pw", "123456789", min_length=10)
    assert info.value.field == "password"
    accounts.set_password(db, "acct_pw", "1234567890", min_length=10)


def test_the_last_admin_cannot_be_disabled(api: ApiEnv) -> None:
    db = api.app.state.db
    admins = [u.username for u in accounts.list_users(db, role="admin") if u.active]
    for name in admins[1:]:
        accounts.set_active(db, name, False)
    try:
        with pytest.raises(ValidationError) as info:
            accounts.set_active(db, admins[0], False)
        assert info.value.code == "last_admin"
    finally:
        for name in admins[1:]:
            accounts.set_active(db, name, True)


# -- the CLI ------------------------------------------------------------------------------------------
@pytest.fixture
def cli(store_db, monkeypatch):
    from api.cli import register
    from triage.config import get_settings

    monkeypatch.setenv("TRIAGE_DATABASE_URL", store_db.url)
    get_settings.cache_clear()
    app = typer.Typer()
    register(app)
    runner = CliRunner()
    yield lambda *args, input=None: runner.invoke(app, ["users", *args], input=input)
    get_settings.cache_clear()


def test_cli_manages_users_and_tokens(cli, store_db) -> None:
    res = cli("add", "cli_user", "--role", "reviewer", "--password", PASSWORD)
    assert res.exit_code == 0, res.output
    token = res.stdout.strip().splitlines()[-1]
    res = cli("list")
    assert res.exit_code == 0 and re.search(r"^cli_user\treviewer\t-\tactive\t", res.stdout, re.M), res.output
    res = cli("tokens", "cli_user")
    assert res.exit_code == 0 and token not in res.stdout
    token_id = int(res.stdout.splitlines()[1].split("\t")[0])
    assert cli("disable", "cli_user").exit_code == 0
    assert "cli_user\treviewer\t-\tdisabled" in cli("list", "--disabled").stdout
    assert cli("enable", "cli_user").exit_code == 0
    res = cli("passwd", "cli_user", input="a-brand-new-password\na-brand-new-password\n")
    assert res.exit_code == 0, res.output
    with store_db.session() as session:
        row = session.exec(select(User).where(User.username == "cli_user")).one()
    from api.security import verify_password

    assert verify_password("a-brand-new-password", row.password_hash)
    assert cli("revoke-token", str(token_id), "--user", "cli_user").exit_code == 0
    with store_db.session() as session:
        assert session.get(ApiToken, token_id).revoked_at is not None
    assert "\trevoked" in cli("tokens", "cli_user").stdout


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("disable", "nobody"), "name"),
        (("passwd", "nobody", "--password", PASSWORD), "name"),
        (("passwd", "cli_bad", "--password", "short"), "password"),
        (("add", "cli_bad2", "--role", "reviewer", "--password", "short"), "password"),
        (("tokens", "nobody"), "name"),
        (("revoke-token", "999999"), "token_id"),
        (("list", "--role", "boss"), "role"),
    ],
)
def test_cli_bad_input_exits_2_naming_the_field(cli, args, field) -> None:
    assert cli("add", "cli_bad", "--role", "reviewer").exit_code == 0
    res = cli(*args)
    assert res.exit_code == 2, res.output
    assert f"error: {field}:" in res.output


# -- the admin page --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def admin(api: ApiEnv) -> WebUser:
    return WebUser(api.app, "admin")


def _user_id(api: ApiEnv, name: str) -> int:
    return next(u.id for u in accounts.list_users(api.app.state.db) if u.username == name)


def test_admin_page_is_for_admins_only_and_linked_for_them(api: ApiEnv, admin: WebUser) -> None:
    page = admin.get("/admin/users")
    assert page.status_code == 200 and "用户管理" in page.text and "reviewer" in page.text
    nav = re.findall(r'<nav class="nav".*?</nav>', admin.get("/dashboard").text, re.S)[0]
    assert 'href="/admin/users"' in nav
    reviewer = WebUser(api.app, "reviewer")
    assert reviewer.get("/admin/users").status_code == 403
    assert 'href="/admin/users"' not in reviewer.get("/dashboard").text
    uid = _user_id(api, "reviewer")
    assert reviewer.post(f"/admin/users/{uid}/disable").status_code == 403
    assert admin.post(f"/admin/users/{uid}/disable", csrf=False).status_code == 403  # no CSRF token
    assert next(u for u in accounts.list_users(api.app.state.db) if u.id == uid).active


def test_admin_page_disables_and_revokes_at_once(api: ApiEnv, admin: WebUser) -> None:
    token = _user(api.app.state.db, "page_user")
    uid = _user_id(api, "page_user")
    assert _get(api, token).status_code == 200
    r = admin.post(f"/admin/users/{uid}/disable")
    assert r.status_code == 303 and "已停用" in admin.follow(r).text
    assert _get(api, token).status_code == 401
    assert admin.post(f"/admin/users/{uid}/enable").status_code == 303
    assert _get(api, token).status_code == 200
    page = admin.get(f"/admin/users/{uid}")
    token_id = int(re.search(r"/tokens/(\d+)/revoke", page.text).group(1))
    r = admin.post(f"/admin/users/{uid}/tokens/{token_id}/revoke")
    assert r.status_code == 303 and "已吊销" in admin.follow(r).text
    assert _get(api, token).status_code == 401


def test_admin_page_password_reset_checks_the_policy(api: ApiEnv, admin: WebUser) -> None:
    _user(api.app.state.db, "page_pw")
    uid = _user_id(api, "page_pw")
    victim = WebUser(api.app, None)
    assert victim.login("page_pw", PASSWORD).status_code == 303
    r = admin.post(f"/admin/users/{uid}/password", {"password": "short", "password2": "short"})
    assert r.status_code == 422 and "至少需要 10 个字符" in field_block(r.text, "new-password")
    r = admin.post(f"/admin/users/{uid}/password", {"password": "long-enough-1", "password2": "other-one-22"})
    assert r.status_code == 422 and "不一致" in r.text
    r = admin.post(
        f"/admin/users/{uid}/password", {"password": "long-enough-1", "password2": "long-enough-1"}
    )
    assert r.status_code == 303
    assert victim.get("/review").status_code == 303  # the user's session ended
    assert victim.login("page_pw", "long-enough-1").status_code == 303


def test_admin_cannot_disable_themselves(api: ApiEnv, admin: WebUser) -> None:
    uid = _user_id(api, "admin")
    r = admin.post(f"/admin/users/{uid}/disable")
    assert r.status_code == 303 and "不能停用自己的账号" in admin.follow(r).text
    assert admin.get("/admin/users").status_code == 200
    assert admin.get("/admin/users/999999").status_code == 404
