"""Issue #15 item 6: the whole loop in Chromium, at desktop and phone sizes — a resident's matter is
taken by the grid worker, the deputy supervises and blows the whistle, the department reports in
and resolves it, the follow-up call rates it, and the ledgers and the dashboard count it."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from triage.config import LOCAL_TZ

pytest.importorskip("playwright")
from playwright.sync_api import expect  # noqa: E402

SIZES = {"desktop": (1280, 900), "phone": (390, 844)}
MATTER = "幸福小区北门外的排水沟堵塞半个月了，一下雨就积水漫进一楼住户家，居民多次反映没人管，请尽快疏通。"


def _headline(b, path: str, box: str) -> tuple[int, int]:
    b.goto(path)
    text = b.page.locator(f"#{box}").inner_text()
    resolved = int(re.search(r"办结民生实事\s*(\d+)\s*件", text).group(1))
    mediated = int(re.search(r"化解矛盾纠纷\s*(\d+)\s*起", text).group(1))
    return resolved, mediated


@pytest.mark.parametrize("size", sorted(SIZES))
def test_the_deputy_loop_end_to_end(open_browser, live_server, size: str) -> None:
    width, height = SIZES[size]
    admin = open_browser(width, height)
    admin.login("admin")
    before = _headline(admin, "/ledgers?grid=G001", "ledger-headline")

    # 群众提事 → 网格听事: the grid worker takes the resident's matter
    grid = open_browser(width, height)
    grid.login("grid1")
    grid.goto("/intake")
    grid.page.fill("#text", f"{MATTER}（{size}）")
    expect(grid.page.locator("#sugg-category")).not_to_be_empty()
    grid.page.click("#submit-case-top" if size == "phone" else "#submit-case")
    grid.page.wait_for_url(re.compile(r"/cases/\d+"))
    case_no = grid.case_no_from_url()
    live_server.app.state.service.correct(case_no, "reviewer", category="城乡建设", department_code="housing")

    # 代表议事: the deputy supervises, then blows the whistle to the transport bureau
    deputy = open_browser(width, height)
    deputy.login("deputy")
    deputy.goto(f"/cases/{case_no}")
    deputy.page.click("summary:has-text('督办')")
    deputy.page.fill(f"#requirement-{case_no}", "三日内疏通并回复居民")
    due = (datetime.now(LOCAL_TZ) + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    deputy.page.fill(f"#due-{case_no}", due)
    deputy.page.click("button:has-text('确认督办')")
    expect(deputy.page.locator(".flash-ok").last).to_be_visible()
    deputy.page.click("summary:has-text('吹哨')")
    deputy.page.select_option(f"#target-{case_no}", "department:transport")
    deputy.page.fill(f"#reason-{case_no}", "涉及市政道路排水，社区协调不了")
    deputy.page.click("button:has-text('确认吹哨')")
    expect(deputy.page.locator(".flash-ok").last).to_be_visible()
    deputy.shot(f"loop-deputy-{size}")

    # 部门办事: the transport bureau reports in from its desk, then starts and resolves
    dept = open_browser(width, height)
    dept.login("dept_other")
    dept.goto("/desk")
    whistles = dept.page.locator("#desk-whistles")
    expect(whistles).to_contain_text(case_no)
    whistles.locator("li", has_text=case_no).locator("button:has-text('报到')").click()
    expect(dept.page.locator(".flash-ok").last).to_contain_text("已报到")
    dept.goto(f"/cases/{case_no}")
    dept.page.click("button:has-text('签收办理')")
    dept.goto(f"/cases/{case_no}")
    dept.page.click("#case-actions summary:has-text('办结')")
    dept.page.fill(f"#result-{case_no}", "已清淤疏通排水沟，并加装雨水篦子")
    dept.page.click("button:has-text('确认办结')")
    expect(dept.page.locator(".flash-ok").last).to_be_visible()
    dept.shot(f"loop-department-{size}")

    # 评价反馈: the follow-up call rates it, which closes the case
    grid.goto(f"/cases/{case_no}")
    grid.page.check("input[name=rating][value=satisfied]")
    grid.page.click(".feedback-form button[type=submit]")
    expect(grid.page.locator(".flash-ok").last).to_be_visible()
    assert live_server.app.state.service.get(case_no).status == "closed"

    # the ledgers and the dashboard count it; the department's row shows the supervision
    after = _headline(admin, "/ledgers?grid=G001", "ledger-headline")
    assert after[0] == before[0] + 1
    resolved_30d, _ = _headline(admin, "/dashboard?days=30", "dashboard-headline")
    assert resolved_30d >= after[0]
    admin.goto("/ledgers?kind=deputies")
    expect(admin.page.locator("#ledger-table")).to_contain_text("deputy")
    admin.goto("/ledgers?kind=departments")
    expect(admin.page.locator("#ledger-table")).to_contain_text("交通运输局")
    admin.shot(f"loop-ledgers-{size}")
    for b in (admin, grid, deputy, dept):
        assert not b.errors, b.errors
