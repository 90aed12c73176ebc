"""Issue #13 items 5, 8 and 9 in Chromium at desktop and phone sizes: a reviewer ticks the confident
suggestions and accepts them in bulk, an admin creates an account (token shown once) and imports
the grid registry; the names appear where codes were."""

from __future__ import annotations

import re

import pytest
from sqlmodel import col, select

from triage.store.models import Case

pytest.importorskip("playwright")
from playwright.sync_api import expect  # noqa: E402

SIZES = {"desktop": (1280, 900), "phone": (390, 844)}
TEXTS = [
    "滨海路小区门口的垃圾桶三天没人清运了，天气热味道很大，苍蝇很多，希望环卫尽快处理。",
    "学府路的红绿灯坏了两天了，早高峰车辆乱成一团，希望交警尽快派人维修。",
    "阳光小区三号楼电梯经常停运，老人上下楼很困难，希望物业和质监部门尽快检修。",
]


def _set_confidence(app, case_no: str, sure: bool) -> None:
    with app.state.db.session(write=True) as session:
        case = session.exec(select(Case).where(col(Case.case_no) == case_no)).one()
        case.needs_review = not sure
        session.add(case)


@pytest.mark.parametrize("size", sorted(SIZES))
def test_bulk_accept_of_the_confident_suggestions(open_browser, live_server, size: str) -> None:
    svc = live_server.app.state.service
    numbers = [svc.submit(f"{t}（{size}）", source="hotline").case_no for t in TEXTS]
    for no, sure in zip(numbers, (True, True, False), strict=True):
        _set_confidence(live_server.app, no, sure)
    b = open_browser(*SIZES[size])
    b.login("reviewer")
    b.goto("/review")
    b.page.click("#select-confident")
    for no, sure in zip(numbers, (True, True, False), strict=True):
        box = b.page.locator(f'input[name="case_no"][value="{no}"]')
        expect(box).to_be_checked() if sure else expect(box).not_to_be_checked()
    b.shot(f"bulk-review-{size}")
    b.page.click("#bulk-accept")
    expect(b.page.locator(".flash-ok").last).to_contain_text("已批量采纳")
    assert [svc.get(no).status for no in numbers] == ["dispatched", "dispatched", "pending_review"]
    box = b.page.locator(f'input[name="case_no"][value="{numbers[2]}"]')
    box.check()
    if size == "phone":
        b.page.locator("#bulk-department").scroll_into_view_if_needed()
    b.page.select_option("#bulk-department", "housing")
    b.page.click("#bulk-dispatch")
    expect(b.page.locator(".flash-ok").last).to_contain_text("已批量派单 1 件")
    assert svc.get(numbers[2]).department_code == "housing"
    assert not b.errors, b.errors


@pytest.mark.parametrize("size", sorted(SIZES))
def test_admin_creates_an_account_and_imports_grids(open_browser, live_server, tmp_path, size: str) -> None:
    b = open_browser(*SIZES[size])
    b.login("admin")
    b.goto("/admin/users")
    b.page.click("#new-user-link")
    name = f"grid_new_{size}"
    b.page.fill("#username", name)
    b.page.select_option("#role", "grid_worker")
    grid = f"W{size[0].upper()}1"  # one per size: the server and its database live for the module
    b.page.fill("#grids", f"{grid}，W02")
    b.page.fill("#new-password", "a-long-password-1")
    b.page.fill("#new-password2", "a-long-password-1")
    b.page.click("#new-user button[type=submit]")
    expect(b.page.locator("#new-token code")).to_have_text(re.compile(r"\S{20,}"))
    b.shot(f"admin-new-user-{size}")
    registry = tmp_path / "网格台账.csv"
    registry.write_text(
        f"网格编号,网格名称,社区,街道\n{grid},滨海一网格,滨海社区,海滨街道\n,缺编号,,\n", encoding="gbk"
    )
    b.goto("/admin/grids")
    b.page.set_input_files("#file", str(registry))
    b.page.click("#import button[type=submit]")
    expect(b.page.locator("#import-created")).to_have_text("0")
    expect(b.page.locator("#import-updated")).to_have_text("1")
    expect(b.page.locator("#import-errors")).to_contain_text("网格编号为空")
    expect(b.page.locator("#grids")).to_contain_text("滨海一网格")
    b.shot(f"admin-grids-import-{size}")
    assert not b.errors, b.errors
    worker = open_browser(*SIZES[size])
    worker.goto("/login")
    worker.page.fill("#username", name)
    worker.page.fill("#password", "a-long-password-1")
    worker.page.click("button[type=submit]")
    worker.page.wait_for_load_state()
    worker.goto("/intake")
    expect(worker.page.locator("#grid")).to_contain_text("滨海一网格")  # a name, not W01
