"""Finding 3: browser sessions live on the server and end when they should.

A saved cookie must stop working after logout, after a password change and when the user is
disabled; sessions end after the idle timeout and at their absolute expiry; the cookie carries
only a random id (stored hashed), is HttpOnly and SameSite=Lax, and Secure with
``session_https_only``. Storage tests run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import base64
import functools
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select
from support.api_env import ApiEnv
from test_web_support import WebUser

from api import accounts
from api.security import create_user, hash_password
from triage.store.models import WebSession
from triage.store.sessions import SessionPolicy, SessionStore, hash_session_id

PASSWORD = "correct-horse-battery"


@functools.cache
def _hash() -> str:
    return hash_password(PASSWORD)


def _user(db, name: str, role: str = "reviewer") -> int:
    user, _ = create_user(db, name, role, password_hash=_hash())
    assert user.id is not None
    return user.id


def _cookie_payload(client) -> dict:
    """The signed session cookie's JSON (itsdangerous: base64 payload, timestamp, signature)."""
    value = client.cookies.get("triage_session")
    raw = value.split(".")[0]
    return json.loads(base64.b64decode(raw + "=" * (-len(raw) % 4)))


@pytest.fixture(scope="module")
def api(api_env: ApiEnv) -> ApiEnv:
    return api_env


def test_a_saved_cookie_is_dead_after_logout(api: ApiEnv) -> None:
    browser = WebUser(api.app, "deputy")
    saved = browser.client.cookies.get("triage_session")
    assert browser.get("/grids").status_code == 200
    assert browser.post("/logout").status_code == 303
    replay = WebUser(api.app, None)
    replay.client.cookies.set("triage_session", saved)
    assert replay.get("/grids").status_code == 303  # to the login form, not the page


def test_the_cookie_carries_only_a_random_id_stored_hashed(api: ApiEnv) -> None:
    browser = WebUser(api.app, "operator")
    payload = _cookie_payload(browser.client)
    assert set(payload) <= {"sid", "csrf", "flash"} and "uid" not in payload
    with api.app.state.db.session() as session:
        rows = session.exec(select(WebSession.session_hash)).all()
    assert hash_session_id(payload["sid"]) in rows and payload["sid"] not in rows


def test_a_password_change_ends_every_session_of_the_user(api: ApiEnv) -> None:
    _user(api.app.state.db, "sess_pw")
    first, second = WebUser(api.app, None), WebUser(api.app, None)
    for browser in (first, second):
        assert browser.login("sess_pw", PASSWORD).status_code == 303
        assert browser.get("/review").status_code == 200
    accounts.set_password(api.app.state.db, "sess_pw", "another-good-password", min_length=10)
    assert first.get("/review").status_code == 303 and second.get("/review").status_code == 303
    assert first.login("sess_pw", "another-good-password").status_code == 303
    assert first.get("/review").status_code == 200


def test_disabling_the_user_ends_the_session(api: ApiEnv) -> None:
    _user(api.app.state.db, "sess_off")
    browser = WebUser(api.app, None)
    assert browser.login("sess_off", PASSWORD).status_code == 303
    accounts.set_active(api.app.state.db, "sess_off", False)
    assert browser.get("/review").status_code == 303
    accounts.set_active(api.app.state.db, "sess_off", True)
    assert browser.get("/review").status_code == 303  # enabling again does not revive it


def test_logging_in_as_someone_else_ends_the_previous_session(api: ApiEnv) -> None:
    browser = WebUser(api.app, "grid1")
    before = browser.client.cookies.get("triage_session")
    r = browser.post("/login", {"username": "grid2", "password": "pw-grid2"})  # a second form, same browser
    assert r.status_code == 303
    replay = WebUser(api.app, None)
    replay.client.cookies.set("triage_session", before)
    assert replay.get("/intake").status_code == 303


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now


def test_idle_timeout_and_last_seen_written_once_a_minute(store_db) -> None:
    clock = Clock()
    uid = _user(store_db, "idle_user")
    store = SessionStore(
        store_db, SessionPolicy(max_age=timedelta(hours=12), idle=timedelta(minutes=30)), clock
    )
    sid = store.open(uid, "198.51.100.1")

    def last_seen() -> datetime:
        with store_db.session() as session:
            return session.exec(select(WebSession.last_seen_at)).one()

    opened = last_seen()
    clock.now += timedelta(seconds=30)
    assert store.resolve(sid) is not None
    assert last_seen() == opened  # not written within the minute
    clock.now += timedelta(minutes=20)
    assert store.resolve(sid) is not None
    assert last_seen() == clock.now  # activity keeps it alive
    clock.now += timedelta(minutes=29)
    assert store.resolve(sid) is not None
    clock.now += timedelta(minutes=31)
    assert store.resolve(sid) is None  # idle for longer than 30 minutes


def test_absolute_expiry_and_revoke(store_db) -> None:
    clock = Clock()
    uid = _user(store_db, "expiry_user")
    store = SessionStore(store_db, SessionPolicy(max_age=timedelta(hours=2), idle=timedelta(hours=1)), clock)
    sid = store.open(uid)
    for _ in range(4):  # busy all along, but the lifetime is absolute
        clock.now += timedelta(minutes=40)
        alive = store.resolve(sid) is not None
    assert not alive
    other = store.open(uid)
    assert store.revoke(other) and not store.revoke(other)
    assert store.resolve(other) is None
    with store_db.session() as session:  # opening a session cleans out expired rows
        assert session.exec(select(WebSession.session_hash)).all() == [hash_session_id(other)]


def test_settings_reach_the_session_policy() -> None:
    from triage.config import Settings

    policy = SessionPolicy.from_settings(Settings(session_max_age_hours=8, session_idle_minutes=15))
    assert policy.max_age == timedelta(hours=8) and policy.idle == timedelta(minutes=15)


@pytest.mark.parametrize("https_only", [False, True])
def test_cookie_flags(tmp_path, store_triager, https_only: bool) -> None:
    from support.api_env import running_app
    from test_web_support import SECRET

    with running_app(
        f"sqlite:///{tmp_path / 'flags.db'}",
        store_triager,
        session_https_only=https_only,
        session_secret=SECRET,
    ) as env:
        from fastapi.testclient import TestClient

        scheme = "https" if https_only else "http"  # a Secure cookie only comes back over HTTPS
        client = TestClient(env.app, base_url=f"{scheme}://testserver", follow_redirects=False)
        browser = WebUser(env.app, None)
        browser.client = client
        browser.refresh_csrf()
        r = client.post(
            "/login", data={"username": "admin", "password": "pw-admin", "csrf_token": browser.csrf}
        )
        assert r.status_code == 303
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie
        assert ("secure" in cookie) is https_only
        assert f"max-age={12 * 3600}" in cookie


def test_changing_ones_own_password_ends_the_other_sessions(api: ApiEnv) -> None:
    _user(api.app.state.db, "sess_self")
    here, elsewhere = WebUser(api.app, None), WebUser(api.app, None)
    for browser in (here, elsewhere):
        assert browser.login("sess_self", PASSWORD).status_code == 303
    page = here.get("/account/password")
    assert page.status_code == 200 and 'href="/account/password"' in page.text
    r = here.post(
        "/account/password", {"current": "wrong-password", "password": "x" * 12, "password2": "x" * 12}
    )
    assert r.status_code == 422 and "当前密码不正确" in r.text
    r = here.post("/account/password", {"current": PASSWORD, "password": "short", "password2": "short"})
    assert r.status_code == 422 and "至少需要 10 个字符" in r.text
    assert here.post("/account/password", {"current": PASSWORD}, csrf=False).status_code == 403
    new = "a-better-password-2026"
    r = here.post("/account/password", {"current": PASSWORD, "password": new, "password2": new})
    assert r.status_code == 303 and "密码已修改" in here.follow(r).text
    assert here.get("/review").status_code == 200  # this browser stays logged in
    assert elsewhere.get("/review").status_code == 303  # the other one is logged out
    assert elsewhere.login("sess_self", new).status_code == 303
