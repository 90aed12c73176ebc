"""Pages people read (issue #13 items 2 and 8): names instead of department and grid codes on the lists,
their XLSX exports, the desk, the case page and the workbench; and the truthful suggestion there —
the rule by its Chinese name, the model's probability of the decided category and its own top choices."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook
from support.api_env import SEWAGE
from test_web_support import WebUser, text_of, web_app

from triage.store.registry import upsert_grid

GRID = "幸福一网格（幸福社区）"


@pytest.fixture(scope="module")
def env(tmp_path_factory, store_triager):
    with web_app(f"sqlite:///{tmp_path_factory.mktemp('names') / 'web.db'}", store_triager) as env:
        upsert_grid(env.app.state.db, "G001", name="幸福一网格", community="幸福社区", street="东风街道")
        yield env


@pytest.fixture(scope="module")
def case_no(env) -> str:
    """SEWAGE: the rule 污水外溢 moves the model's 环境保护 to 城乡建设; dispatched to housing."""
    no = WebUser(env.app, "grid1").submit(SEWAGE)
    rev = WebUser(env.app, "reviewer")
    body = rev.get(f"/review/{no}").text
    assert "路由规则「污水外溢」" in body  # checked before the decision: the workbench's suggestion
    r = rev.post(f"/review/{no}/correct", {"category": "城乡建设", "department_code": "housing"})
    assert r.status_code == 303, r.text[:500]
    return no


def _codes_in(text: str) -> list[str]:
    return re.findall(r"\b(G001|sewage_backflow|housing|water|urban_mgmt)\b", text)


def test_workbench_and_case_page_show_what_the_model_thought(env, case_no: str) -> None:
    case = env.app.state.service.get(case_no)
    assert case.model_category == "环境保护" and case.suggested_category == "城乡建设"
    page = text_of(WebUser(env.app, "admin").get(f"/cases/{case_no}").text)
    assert "路由规则「污水外溢」" in page and "模型判断" in page and "环境保护" in page
    probability = case.route_reason["category_probability"]
    assert f"模型对“城乡建设”的置信度 {probability:.0%}" in page
    assert f"{case.confidence:.0%}" in page  # the model's own top choice, listed as its own
    assert GRID in page and not _codes_in(page)


def test_lists_pages_and_exports_show_names(env, case_no: str) -> None:
    admin = WebUser(env.app, "admin")
    for view in ("problems", "assignments"):
        html = admin.get(f"/grids?view={view}").text
        table = html[html.index("<table") : html.index("</table>")]
        assert case_no in table and not _codes_in(text_of(table)), view
    problems = text_of(admin.get("/grids?view=problems").text)
    assert GRID in problems and "住房和城乡建设局" in problems
    for kind, column in (("problems", "责任部门"), ("assignments", "承办部门")):
        rows = list(load_workbook(io.BytesIO(admin.get(f"/grids/export/{kind}.xlsx").content)).active.values)
        header, row = rows[0], next(r for r in rows[1:] if r[0] == case_no)
        assert row[header.index("网格")] == GRID and row[header.index(column)] == "住房和城乡建设局", kind
        assert not _codes_in(" ".join(str(v) for v in row)), kind
    grid_cases = text_of(WebUser(env.app, "grid1").get("/grids?view=cases").text)
    assert GRID in grid_cases


def test_desk_shows_the_grid_name(env, case_no: str) -> None:
    desk = WebUser(env.app, "dept_housing").get("/desk").text
    assert case_no in desk and GRID in desk and "G001" not in text_of(desk)


def test_api_list_rows_carry_names_beside_codes(env, case_no: str) -> None:
    token = env.tokens["admin"]
    client = WebUser(env.app, None).client
    r = client.get("/api/v1/lists/problems", headers={"Authorization": f"Bearer {token}", "Accept": "*/*"})
    assert r.status_code == 200, r.text
    row = next(i for i in r.json()["items"] if i["case_no"] == case_no)
    assert (row["grid_code"], row["grid_name"]) == ("G001", GRID)
    assert (row["department_code"], row["department_name"]) == ("housing", "住房和城乡建设局")


def test_review_queue_names_the_rule_beside_the_category(env) -> None:
    WebUser(env.app, "grid1").submit(SEWAGE)
    queue = text_of(WebUser(env.app, "reviewer").get("/review").text)
    assert "规则「污水外溢」" in queue and "sewage_backflow" not in queue
