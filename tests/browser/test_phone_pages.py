"""Issue #13 item 7: every page of every role at 390×844 in Chromium: nothing wider than the screen,
the navigation wraps instead of being cut, no keyboard hints, charts keep their labels inside, the
intake's submit is near the top and a phone number in the message is offered for the contact
field. Screenshots go to test-output/screenshots/phone-*.png (looked at, not compared)."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("playwright")
from playwright.sync_api import expect  # noqa: E402

PHONE = (390, 844)
NOISE = "楼下烧烤店每天营业到凌晨两点，油烟和噪音严重扰民，多次投诉无果，希望有关部门管一管。"
MANHOLE = "幸福路与解放路交叉口的井盖丢失了，已经有电动车摔倒，晚上非常危险，请马上处理。"
LAMP = "东门外的路灯已经坏了一个多月，晚上出行很不安全，希望尽快维修。"
# Pages each role reaches beyond its navigation ({case} and {user} are filled in).
EXTRA = {
    "grid1": ["/cases/{case}", "/search?q=井盖", "/notifications", "/account/password"],
    "reviewer": ["/review/{pending}", "/cases/{case}", "/search?q=路灯"],
    "dept_housing": ["/cases/{case}", "/desk?tab=overdue"],
    "deputy": ["/proposals/new", "/cases/{case}"],
    "admin": ["/admin/users", "/admin/users/new", "/admin/users/{user}", "/admin/grids", "/cases/{case}"],
    "operator": ["/search?q=烧烤"],
}


@pytest.fixture(scope="module")
def seeded(live_server):
    svc = live_server.app.state.service
    pending = svc.submit(NOISE, source="hotline", grid_code="G001").case_no
    case = svc.submit(MANHOLE, source="grid", grid_code="G001", title="井盖丢失").case_no
    svc.correct(case, "reviewer", category="城乡建设", department_code="housing", priority="urgent")
    done = svc.submit(LAMP, source="grid", grid_code="G001").case_no
    svc.correct(done, "reviewer", category="城乡建设", department_code="housing")
    svc.start(done, "dept_housing")
    svc.resolve(done, "dept_housing", "路灯已更换")
    from api import accounts

    user = next(u.id for u in accounts.list_users(live_server.app.state.db) if u.username == "grid1")
    return {"pending": pending, "case": case, "user": user}


def _check_page(phone, label: str) -> None:
    page = phone.page
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"{label}: {overflow}px wider than the phone"
    cut = page.evaluate(
        """() => [...document.querySelectorAll('nav.nav a')].filter(a => {
             const r = a.getBoundingClientRect();
             return a.scrollWidth > a.clientWidth + 1 || r.right > window.innerWidth + 1 || r.left < -1;
           }).map(a => a.textContent)"""
    )
    assert not cut, f"{label}: navigation cut: {cut}"
    assert page.locator("kbd:visible").count() == 0, f"{label}: keyboard hints on a phone"
    clipped = page.evaluate(
        """() => [...document.querySelectorAll('svg.chart')].flatMap(svg => {
             const box = svg.viewBox.baseVal;
             return [...svg.querySelectorAll('text')].filter(t => {
               const b = t.getBBox();
               return b.x < box.x - 1 || b.x + b.width > box.x + box.width + 1;
             }).map(t => t.textContent);
           })"""
    )
    assert not clipped, f"{label}: chart labels cut off: {clipped}"


@pytest.mark.parametrize("who", sorted(EXTRA))
def test_every_page_fits_a_phone(open_browser, live_server, seeded, who: str) -> None:
    phone = open_browser(*PHONE)
    phone.login(who)
    nav = phone.page.locator("nav.nav a").evaluate_all("els => els.map(a => a.getAttribute('href'))")
    assert nav, "no navigation"
    for path in [*nav, *(p.format(**seeded) for p in EXTRA[who])]:
        response = phone.goto(path)
        assert response is not None and response.status == 200, (who, path, response and response.status)
        phone.page.wait_for_load_state("networkidle")
        _check_page(phone, f"{who} {path}")
        name = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "home"
        phone.shot(f"phone-{who}-{name}")
    assert not phone.errors, phone.errors


def test_case_page_on_a_phone_puts_the_actions_first(open_browser, live_server, seeded) -> None:
    phone = open_browser(*PHONE)
    phone.login("dept_housing")
    phone.goto(f"/cases/{seeded['case']}")
    actions = phone.page.locator("#case-actions").bounding_box()
    model = phone.page.locator("section.card", has_text="系统建议与人工决定").first.bounding_box()
    assert actions is not None and model is not None
    assert actions["y"] < PHONE[1] * 1.5, actions  # within a short scroll, before the model's details
    assert actions["y"] < model["y"]
    desk = open_browser()
    desk.login("dept_housing")
    desk.goto(f"/cases/{seeded['case']}")
    left = desk.page.locator(".case-summary").bounding_box()
    right = desk.page.locator("#case-actions").bounding_box()
    assert (
        left is not None and right is not None and right["x"] > left["x"] + left["width"] - 1
    )  # two columns


def test_intake_on_a_phone_submits_from_the_top_and_offers_the_phone_number(
    open_browser, live_server
) -> None:
    phone = open_browser(*PHONE)
    phone.login("grid1")
    phone.goto("/intake")
    phone.page.fill("#text", "小区门口的路灯坏了两个星期，晚上很黑，我的电话 139-1234-5678，请尽快派人修理。")
    expect(phone.page.locator("#sugg-category")).not_to_be_empty()
    top = phone.page.locator("#submit-case-top")
    expect(top).to_be_visible()
    box = top.bounding_box()
    assert box is not None and box["y"] + box["height"] < PHONE[1] * 1.2, (
        box
    )  # no scrolling past the suggestion
    expect(phone.page.locator("#submit-case")).to_be_visible()  # the full form's button stays below
    offer = phone.page.locator("#phone-offer")
    expect(offer).to_be_visible()
    expect(offer).to_contain_text("13912345678")
    phone.page.click("#use-phone")
    expect(phone.page.locator("#reporter_phone")).to_have_value("13912345678")
    expect(offer).to_be_hidden()
    phone.shot("phone-intake-offer")
    top.click()
    phone.page.wait_for_url(re.compile(r"/cases/\d+"))
    case_no = phone.case_no_from_url()
    assert live_server.app.state.service.get(case_no).reporter_contact == "13912345678"
    assert not phone.errors, phone.errors


def test_the_offer_never_overwrites_a_typed_number(open_browser, live_server) -> None:
    desk = open_browser()
    desk.login("operator")
    desk.goto("/intake")
    desk.page.fill("#reporter_phone", "0898-66668888")
    desk.page.fill("#text", "来电人说邻居家电话 13800001111 一直打不通，楼上漏水很严重，请物业尽快处理。")
    expect(desk.page.locator("#phone-offer")).to_be_hidden()
    expect(desk.page.locator("#submit-case-top")).to_be_hidden()  # the desktop has the one button
    desk.page.fill("#reporter_phone", "")
    desk.page.dispatch_event("#reporter_phone", "input")
    expect(desk.page.locator("#phone-offer")).to_be_visible()
