"""代表建议 pages (TestClient): the deputy writes one from cases, the department answers, the deputy
rates it; errors name the field; what people typed is escaped; the XLSX export matches the list."""

from __future__ import annotations

import io

import pytest
from support.api_env import NOISE
from test_web_support import WebUser, text_of, web_app


@pytest.fixture(scope="module")
def env(tmp_path_factory, store_triager):
    with web_app(f"sqlite:///{tmp_path_factory.mktemp('web') / 'web.db'}", store_triager) as env:
        yield env


def _form(**kw) -> dict:
    return {
        "title": "关于<b>广场</b>噪音的建议",
        "problem": "夜间广场舞噪音扰民",
        "suggestion": "限定时段与音量",
        "department_code": "housing",
        "case_nos": "",
        **kw,
    }


def test_write_answer_rate(env) -> None:
    grid = WebUser(env.app, "grid1")
    cases = [grid.submit(NOISE + f"（{i}）") for i in range(2)]
    deputy = WebUser(env.app, "deputy")
    new = deputy.get(f"/proposals/new?case_nos={','.join(cases)}&title=噪音")
    assert new.status_code == 200 and cases[0] in new.text
    r = deputy.post("/proposals", _form(case_nos="，".join(cases)))
    assert r.status_code == 303, r.text[:1500]
    page = deputy.follow(r).text
    assert "&lt;b&gt;广场&lt;/b&gt;" in page and "<b>广场</b>" not in page
    assert all(c in page for c in cases) and "待答复" in page
    pid = r.headers["location"].rsplit("/", 1)[-1]
    dept = WebUser(env.app, "dept_housing")
    assert "答复建议" in dept.get(f"/proposals/{pid}").text
    assert dept.post(f"/proposals/{pid}/answer", {"answer": ""}).status_code == 422
    assert dept.post(f"/proposals/{pid}/answer", {"answer": "已限定时段"}).status_code == 303
    assert "评价答复" in deputy.get(f"/proposals/{pid}").text
    bad = deputy.post(f"/proposals/{pid}/rating", {"rating": ""})
    assert bad.status_code == 422 and "请选择评价结果" in bad.text
    back = deputy.post(f"/proposals/{pid}/rating", {"rating": "unsatisfied", "comment": "仍然很吵"})
    assert back.status_code == 303 and "退回重新办理" in text_of(deputy.follow(back).text)
    assert WebUser(env.app, "dept_other").get(f"/proposals/{pid}").status_code == 403
    listed = text_of(dept.get("/proposals?status=assigned").text)
    assert "关于<b>广场</b>噪音的建议" not in listed and "重办 1 次" in listed


@pytest.mark.parametrize(
    ("form", "field_text"),
    [
        (_form(title=""), "请填写此项"),
        (_form(department_code=""), "请填写此项"),
        (_form(department_code="nope"), "请选择有效的部门"),
        (_form(case_nos="2000010100001"), "不属于您网格的案件或案件编号有误"),
    ],
)
def test_new_proposal_errors(env, form: dict, field_text: str) -> None:
    r = WebUser(env.app, "deputy").post("/proposals", form)
    assert r.status_code == 422 and field_text in r.text


def test_roles_and_export(env) -> None:
    assert WebUser(env.app, "grid1").get("/proposals").status_code == 403
    assert WebUser(env.app, "dept_housing").get("/proposals/new").status_code == 403
    deputy = WebUser(env.app, "deputy")
    deputy.post("/proposals", _form(title='=HYPERLINK("http://x")导出测试'))
    r = deputy.get("/proposals/export.xlsx")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxml")
    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(r.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:3] == ("编号", "标题", "承办部门")
    titles = [row[1] for row in rows[1:]]
    listed = deputy.get("/proposals").text
    assert len(titles) == listed.count('data-label="编号"')  # the export and the page agree
    assert '=HYPERLINK("http://x")导出测试' in titles  # shown as typed, stored as text
    cell = next(c for c in ws.iter_rows(min_row=2) if c[1].value and c[1].value.startswith("=HYPER"))[1]
    assert cell.data_type == "s"
