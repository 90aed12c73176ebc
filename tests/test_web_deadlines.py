"""Deadlines in the pages (TestClient): the desk's urgency order and countdowns, the navigation
count per role, the 通知 list and marking it read, the case page's countdown, and reviewers not
offered the department's steps. The browser-level checks are in tests/browser/test_deadlines_browser.py."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import col
from support.api_env import ELEVATOR, NOISE, PARKING, SEWAGE, WAGES
from test_web_support import WebUser, text_of, web_app

from api.web.notifications import clear_nav_cache
from triage.store.models import Case
from triage.store.models.notifications import DeadlineAlert


@pytest.fixture(scope="module")
def env(tmp_path_factory, store_triager):
    with web_app(f"sqlite:///{tmp_path_factory.mktemp('web') / 'web.db'}", store_triager) as env:
        yield env


def set_clock(env, case_no: str, *, hours: float, age: float, status: str = "dispatched", **more) -> None:
    """Give a case ``hours`` allowed, created ``age`` hours ago (the service's clock), in ``status``."""
    now = env.app.state.service.clock()
    created = now - timedelta(hours=age)
    values = {"created_at": created, "deadline": created + timedelta(hours=hours), "status": status, **more}
    with env.app.state.db.session(write=True) as session:
        session.execute(sa.update(Case).where(col(Case.case_no) == case_no).values(**values))


@pytest.fixture(scope="module")
def seeded(env):
    """Five housing cases (one per state) and one of transport, all submitted by the operator."""
    op = WebUser(env.app, "operator")
    nos = {
        name: op.submit(text)
        for name, text in {
            "ok": PARKING,
            "manhole": SEWAGE,
            "gas": ELEVATOR,
            "late": NOISE,
            "queue": WAGES,
            "other": SEWAGE + "（交通）",
        }.items()
    }
    housing = {"department_code": "housing", "department": "住建局"}
    set_clock(env, nos["ok"], hours=168, age=1, **housing)
    set_clock(env, nos["manhole"], hours=24, age=20, priority="urgent", priority_rank=0, **housing)
    set_clock(env, nos["gas"], hours=1, age=50 / 60, priority="urgent", priority_rank=0, **housing)
    set_clock(env, nos["late"], hours=2, age=2 + 40.5 / 60, **housing)
    set_clock(env, nos["queue"], hours=1, age=3, status="pending_review")
    set_clock(env, nos["other"], hours=1, age=3, department_code="transport", department="交通局")
    clear_nav_cache()  # the operator's login cached its count before the cases moved
    return nos


def _cards(html: str) -> list[str]:
    return re.findall(r'<li class="case-card[^"]*" data-case="(\d+)"', html)


def _nav_count(html: str) -> str | None:
    found = re.search(r'id="deadline-count"[^>]*>(\d+)<', html)
    return found.group(1) if found else None


def test_desk_is_ordered_by_time_left_with_countdowns(env, seeded) -> None:
    dept = WebUser(env.app, "dept_housing")
    html = dept.get("/desk").text
    assert _cards(html) == [seeded["late"], seeded["gas"], seeded["manhole"], seeded["ok"]]
    text = text_of(html)
    assert re.search(r"超时 已超时 40分钟", text)
    assert re.search(r"预警 剩余 (9|10)分钟", text)
    assert re.search(r"预警 剩余 (3小时59分|4小时)", text)
    assert "剩余 6天22小时" in text or "剩余 6天23小时" in text
    assert 'data-deadline="' in html and 'data-warn-at="' in html
    overdue_tab = dept.get("/desk?tab=overdue").text
    assert _cards(overdue_tab) == [seeded["late"]]


def test_navigation_count_follows_what_each_role_owns(env, seeded) -> None:
    counts = {name: _nav_count(WebUser(env.app, name).get("/dashboard").text) for name in (
        "dept_housing", "dept_other", "reviewer", "admin", "operator", "grid2",
    )}  # fmt: skip
    assert counts["dept_housing"] == "3"  # 1 overdue + 2 warned
    assert counts["dept_other"] == "1"
    assert counts["reviewer"] == "1"  # the queue's overdue case
    assert counts["admin"] == counts["operator"] == "5"
    assert counts["grid2"] is None  # nothing in their grid
    page = WebUser(env.app, "dept_housing").get("/dashboard").text
    assert 'class="nav-count late"' in page and "超时 1 件，预警 2 件" in page


def test_notification_list_and_mark_read(env, seeded) -> None:
    dept = WebUser(env.app, "dept_housing")
    html = dept.get("/notifications").text
    listed = re.findall(r'data-notification="(\d+)"', html)
    assert len(listed) == 3
    text = text_of(html)
    assert seeded["late"] in text and seeded["gas"] in text and seeded["other"] not in text
    assert "未读 3 条" in text
    r = dept.post("/notifications/read", {"id": listed[0]})
    assert r.status_code == 303
    assert "已将 1 条通知标为已读" in dept.follow(r).text
    assert "未读 2 条" in text_of(dept.get("/notifications").text)
    assert len(re.findall(r"data-notification=", dept.get("/notifications?unread=1").text)) == 2
    r = dept.post("/notifications/read", {"id": "x1"})
    assert r.status_code == 303 and "通知编号（id）不正确" in dept.follow(r).text
    assert dept.post("/notifications/read", {"id": "1" * 13}).status_code == 422
    r = dept.post("/notifications/read", {})
    assert "已将 2 条通知标为已读" in dept.follow(r).text
    assert "未读" not in text_of(dept.get("/notifications?unread=1").text).split("通知", 2)[-1][:20]
    # reading is per user: the admin still has all of them unread
    assert "未读 5 条" in text_of(WebUser(env.app, "admin").get("/notifications").text)
    assert dept.post("/notifications/read", {}, csrf=False).status_code == 403
    with env.app.state.db.session() as session:  # one alert per (case, kind), however often pages scan
        rows = session.execute(sa.select(col(DeadlineAlert.case_id), col(DeadlineAlert.kind))).all()
    assert len(rows) == len(set(rows))


def test_case_page_shows_the_countdown(env, seeded) -> None:
    html = WebUser(env.app, "dept_housing").get(f"/cases/{seeded['late']}").text
    assert re.search(r'class="countdown overdue"', html) and "已超时 40分钟" in text_of(html)


def test_reviewers_are_not_offered_the_departments_steps(env, seeded) -> None:
    rev = WebUser(env.app, "reviewer")
    html = rev.get(f"/cases/{seeded['ok']}").text
    actions = re.findall(r"可执行操作.*?</section>", html, re.S)
    body = actions[0] if actions else html
    assert "签收办理" not in body and "/start" not in body and "确认办结" not in body
    dept_html = WebUser(env.app, "dept_housing").get(f"/cases/{seeded['ok']}").text
    assert "签收办理" in dept_html


def test_stale_navigation_count_is_shown_once_and_recounted_in_the_background(env, seeded) -> None:
    """Regression: the page that found the count older than its 10 s counted every open case itself."""
    from api.web import notifications as nav

    dept = WebUser(env.app, "dept_housing")
    before = _nav_count(dept.get("/desk").text)
    assert before is not None
    set_clock(env, seeded["ok"], hours=2, age=3)  # one more overdue case of housing
    with nav._nav_lock:  # the cached numbers are now older than the TTL
        for key, (at, numbers) in list(nav._nav_cache.items()):
            nav._nav_cache[key] = (at - nav.NAV_TTL_SECONDS - 1, numbers)
    assert _nav_count(dept.get("/desk").text) == before  # shown once more, not counted by the page
    nav._nav_pool.submit(lambda: None).result(timeout=30)  # the background recount has finished
    assert int(_nav_count(dept.get("/desk").text) or 0) == int(before) + 1
    set_clock(env, seeded["ok"], hours=168, age=1)  # as the other tests expect it
    clear_nav_cache()
