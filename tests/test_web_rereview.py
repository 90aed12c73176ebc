"""The 待复核 page over the real app (TestClient): flags listed with old decision vs new suggestion,
answers only with the CSRF token, errors as Chinese flash messages (the browser flow is in
tests/browser/)."""

from __future__ import annotations

import pytest
from support.api_env import ELEVATOR, WAGES
from test_batch_db import SHIFTED
from test_web_support import WebUser, web_app

from triage.batch.reclassify import ReclassifyOptions, run_reclassify


@pytest.fixture(scope="module")
def env(tmp_path_factory, store_triager):
    with web_app(f"sqlite:///{tmp_path_factory.mktemp('web') / 'rereview.db'}", store_triager) as env:
        service = env.app.state.service
        cases = [service.submit(text) for text in (ELEVATOR, WAGES)]
        for case in cases:
            service.accept(case.case_no, "reviewer")
        service.return_case(cases[1].case_no, "dept", "不属于本部门职责")
        run_reclassify(ReclassifyOptions(database=env.app.state.db, triager_factory=SHIFTED))
        env.numbers = [c.case_no for c in cases]
        yield env


def test_page_lists_flags_and_answers_need_csrf(env) -> None:
    dispatched, returned = env.numbers
    rev = WebUser(env.app, "reviewer")
    page = rev.get("/rereview")
    assert page.status_code == 200 and "共 2 件" in page.text
    assert "维持原判" in page.text and "原审核分类" in page.text and "模型新建议" in page.text
    assert f'action="/rereview/{returned}/correct"' in page.text  # pending review: may take the category
    assert f'action="/rereview/{dispatched}/correct"' not in page.text and "退回审核" in page.text

    forged = rev.post(f"/rereview/{dispatched}/dismiss", csrf=False)
    assert forged.status_code == 403 and "共 2 件" in rev.get("/rereview").text

    done = rev.follow(rev.post(f"/rereview/{dispatched}/dismiss"))
    assert f"案件 {dispatched} 已维持原判" in done.text and "共 1 件" in done.text
    again = rev.follow(rev.post(f"/rereview/{dispatched}/dismiss"))
    assert "没有待复核标记" in again.text
    bad = rev.follow(rev.post(f"/rereview/{returned}/correct", {"category": "不存在的分类"}))
    assert "请选择有效的分类" in bad.text and "共 1 件" in bad.text
    wrong = rev.follow(rev.post(f"/rereview/{returned}/archive"))
    assert "操作无效" in wrong.text
    fixed = rev.follow(rev.post(f"/rereview/{returned}/correct"))
    assert f"案件 {returned} 已改为" in fixed.text and "暂无待复核案件" in fixed.text
    assert WebUser(env.app, "operator").get("/rereview").status_code == 403
