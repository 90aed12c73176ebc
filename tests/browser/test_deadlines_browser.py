"""Deadlines and safe keys in Chromium, at desktop and phone (390×844) sizes: the desk's order and
countdowns, the navigation count, the 通知 list, and the confirm-key flow of the review workbench.
Screenshots go to test-output/screenshots/deadlines-*.png."""

from __future__ import annotations

import os
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import col

from triage.store.models import Case

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - a dev dependency; CI must have it
    if os.environ.get("CI", "").strip().lower() == "true":
        raise
    pytest.skip("playwright is not installed", allow_module_level=True)

SIZES = {"desktop": (1280, 900), "phone": (390, 844)}
# Hand-written messages (not from any data set).
MANHOLE = "建设路与和平街路口的井盖被撞碎了，只剩一个大洞，晚上很容易有人掉下去，请紧急处理。"
GAS = "幸福里社区3栋2单元楼道里有很浓的燃气泄漏味道，已经闻了半个小时，担心发生爆炸，请马上派人来！"
LAMP = "锦绣花园东门外的三盏路灯坏了半个多月，晚上一片漆黑，老人散步摔倒过两次，希望尽快修好。"
DRAIN = "新华村二组的下水道堵了一个星期，污水倒灌进一楼住户家里，臭气熏天，希望尽快派人疏通。"
FRESH = "滨江路小区门口的垃圾桶三天没人清运了，天气热味道很大，苍蝇很多，希望环卫尽快处理。"


def _place(server, case_no: str, *, hours: float, age: float, **values) -> None:
    now = server.app.state.service.clock()
    created = now - timedelta(hours=age)
    values = {
        "created_at": created,
        "deadline": created + timedelta(hours=hours),
        "status": "dispatched",
        "department_code": "housing",
        "department": "住建局",
        **values,
    }
    with server.app.state.db.session(write=True) as session:
        session.execute(sa.update(Case).where(col(Case.case_no) == case_no).values(**values))


@pytest.fixture(scope="module")
def desk_cases(live_server):
    """Four housing cases: plenty of time, an urgent manhole with 4 h left, gas with 10 min, 40 min late."""
    svc = live_server.app.state.service
    nos = {k: svc.submit(t, source="hotline").case_no for k, t in {
        "lamp": LAMP, "manhole": MANHOLE, "gas": GAS, "drain": DRAIN}.items()}  # fmt: skip
    _place(live_server, nos["lamp"], hours=168, age=1)
    _place(live_server, nos["manhole"], hours=24, age=20, priority="urgent", priority_rank=0)
    _place(live_server, nos["gas"], hours=1, age=50 / 60, priority="urgent", priority_rank=0)
    _place(live_server, nos["drain"], hours=2, age=2 + 41 / 60)
    return nos


@pytest.mark.parametrize("size", SIZES)
def test_desk_countdowns_nav_count_and_notifications(open_browser, desk_cases, size) -> None:
    b = open_browser(*SIZES[size])
    b.login("dept_housing")
    b.page.clock.install()  # the page's timers run on a clock the test moves (below)
    b.goto("/desk")
    cards = b.page.locator("li.case-card")
    mine = [n for n in (cards.nth(i).get_attribute("data-case") for i in range(cards.count()))]
    expected = [desk_cases[k] for k in ("drain", "gas", "manhole", "lamp")]
    assert [n for n in mine if n in expected] == expected
    late = b.page.locator(f'li[data-case="{desk_cases["drain"]}"] .countdown')
    expect(late).to_have_class(re.compile("overdue"))
    expect(late).to_contain_text(re.compile(r"已超时 4[01]分钟"))
    gas = b.page.locator(f'li[data-case="{desk_cases["gas"]}"] .countdown')
    expect(gas).to_have_class(re.compile("warning"))
    expect(gas).to_contain_text(re.compile(r"预警\s*剩余 (9|10)分钟"))
    expect(gas).to_be_visible()
    count = b.page.locator("#deadline-count")
    expect(count).to_be_visible()
    expect(count).to_have_text("3")
    b.page.evaluate("window.scrollTo(0, 0)")
    b.shot(f"deadlines-desk-{size}")
    if size == "desktop":  # the countdown moves on without a reload: 31 minutes later gas is late
        b.page.clock.run_for(31 * 60 * 1000)
        expect(gas).to_have_class(re.compile("overdue"))
        expect(gas).to_contain_text(re.compile(r"超时\s*已超时 2[01]分钟"))
        b.goto("/desk")

    b.page.locator("a.nav-notify").click()
    expect(b.page).to_have_url(re.compile(r"/notifications$"))
    items = b.page.locator("li.notification")
    expect(items).to_have_count(3)
    expect(b.page.locator("li.notification.overdue")).to_have_count(1)
    expect(b.page.locator("li.notification.overdue")).to_contain_text(desk_cases["drain"])
    b.shot(f"deadlines-notifications-{size}")
    if size == "desktop":
        unread = b.page.locator("li.notification.unread")
        before = unread.count()
        unread.first.locator("button", has_text="标为已读").click()
        expect(b.page.locator(".flash-ok")).to_contain_text("已将 1 条通知标为已读")
        expect(b.page.locator("li.notification.unread")).to_have_count(before - 1)
    assert b.errors == []


def test_keyboard_dispatch_needs_a_confirming_key(open_browser, live_server) -> None:
    svc = live_server.app.state.service
    case_no = svc.submit(FRESH, source="hotline").case_no
    rev = open_browser()
    rev.login("reviewer")
    rev.goto(f"/review/{case_no}")
    claim = rev.page.locator('button[data-key="c"]')
    if claim.count():
        claim.click()
    expect(rev.page.locator("#accept-form")).to_be_visible()
    expect(rev.page.locator("p.shortcuts")).to_be_visible()

    rev.page.keyboard.press("a")  # one stray key: nothing happens but a prompt
    prompt = rev.page.locator("#key-confirm")
    expect(prompt).to_be_visible()
    expect(prompt).to_contain_text(f"确认交办案件 {case_no}")
    rev.shot("deadlines-confirm-prompt")
    assert svc.get(case_no).status == "pending_review"
    rev.page.keyboard.press("Escape")
    expect(prompt).to_contain_text("已取消")
    assert svc.get(case_no).status == "pending_review"

    rev.page.keyboard.press("a")
    rev.page.wait_for_timeout(5600)  # the confirmation lapses
    expect(prompt).to_contain_text("已取消")
    rev.page.keyboard.press("Enter")
    assert svc.get(case_no).status == "pending_review"

    rev.page.keyboard.press("a")
    rev.page.keyboard.press("a")  # the same key again: dispatched
    expect(rev.page.locator(".flash-ok")).to_be_visible()
    assert svc.get(case_no).status == "dispatched"
    assert rev.errors == []


def test_enter_in_the_reject_reason_asks_first(open_browser, live_server) -> None:
    svc = live_server.app.state.service
    case_no = svc.submit(FRESH + "（测试不予受理）", source="hotline").case_no
    rev = open_browser()
    rev.login("reviewer")
    rev.goto(f"/review/{case_no}")
    claim = rev.page.locator('button[data-key="c"]')
    if claim.count():
        claim.click()
    expect(rev.page.locator("#accept-form")).to_be_visible()
    rev.page.keyboard.press("r")
    expect(rev.page.locator("#reason")).to_be_focused()
    rev.page.keyboard.type("与本辖区无关")
    rev.page.keyboard.press("Enter")
    expect(rev.page.locator("#key-confirm")).to_contain_text("确认不予受理")
    assert svc.get(case_no).status == "pending_review"
    rev.page.keyboard.press("Enter")
    expect(rev.page.locator(".flash-ok")).to_be_visible()
    assert svc.get(case_no).status == "rejected"


def test_phone_hides_keyboard_hints(open_browser, live_server) -> None:
    svc = live_server.app.state.service
    case_no = svc.submit(FRESH + "（手机）", source="hotline").case_no
    rev = open_browser(*SIZES["phone"])
    rev.login("reviewer")
    rev.goto(f"/review/{case_no}")
    claim = rev.page.locator('button[data-key="c"]')
    if claim.count():
        claim.click()
    expect(rev.page.locator("#accept-form")).to_be_visible()
    expect(rev.page.locator("p.shortcuts")).to_be_hidden()
    assert rev.page.locator("kbd:visible").count() == 0
    rev.shot("deadlines-review-phone")
