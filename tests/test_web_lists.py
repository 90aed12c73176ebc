"""网格与代表 and 统计看板 pages: the three lists with filters and XLSX export, scoping by grid and
department, and the dashboard's charts (inline SVG, no external resources)."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook
from support.api_env import NOISE, PARKING, SEWAGE, WAGES
from test_web_support import WebUser, field_block, web_app


@pytest.fixture(scope="module")
def env(tmp_path_factory, store_triager):
    with web_app(f"sqlite:///{tmp_path_factory.mktemp('lists') / 'web.db'}", store_triager) as env:
        yield env


@pytest.fixture(scope="module")
def users(env):
    return {n: WebUser(env.app, n) for n in ("grid1", "grid2", "reviewer", "dept_housing", "deputy", "admin")}


@pytest.fixture(scope="module")
def cases(users):
    """One case of grid G001 taken through to closed, one still pending in G002."""
    done = users["grid1"].submit(SEWAGE)
    rev = users["reviewer"]
    assert (
        rev.post(
            f"/review/{done}/correct", {"category": "城乡建设", "department_code": "housing"}
        ).status_code
        == 303
    )
    dept = users["dept_housing"]
    assert dept.post(f"/cases/{done}/resolve", {"result": "管道已疏通"}).status_code == 303
    assert users["grid1"].post(f"/cases/{done}/feedback", {"satisfaction": "5"}).status_code == 303
    pending = users["grid2"].submit(PARKING)
    return {"done": done, "pending": pending}


@pytest.mark.parametrize("view", ["cases", "problems", "assignments", "completions"])
def test_grid_worker_sees_only_their_grids(users, cases, view) -> None:
    mine = users["grid1"].get(f"/grids?view={view}")
    theirs = users["grid2"].get(f"/grids?view={view}")
    assert mine.status_code == theirs.status_code == 200
    assert f"/cases/{cases['done']}" in mine.text
    assert f"/cases/{cases['done']}" not in theirs.text
    if view in ("cases", "problems"):
        assert f"/cases/{cases['pending']}" in theirs.text and f"/cases/{cases['pending']}" not in mine.text


def test_filter_errors_are_shown_next_to_the_field(users, cases) -> None:
    g = users["grid2"]
    r = g.get("/grids?view=problems&grid=G001")
    assert r.status_code == 422 and "只能查看您负责的网格" in field_block(r.text, "grid")
    r = g.get("/grids?view=problems&date_from=2026-13-01")
    assert r.status_code == 422 and "日期格式" in field_block(r.text, "date_from")
    r = g.get("/grids?view=problems&date_from=2026-02-01&date_to=2026-01-01")
    assert r.status_code == 422 and "结束日期" in field_block(r.text, "date_to")
    r = users["admin"].get("/grids?view=assignments&department=nowhere")
    assert r.status_code == 422 and "error" in field_block(r.text, "department")


def test_lists_export_to_xlsx_with_chinese_headers(users, cases) -> None:
    r = users["deputy"].get("/grids/export/completions.xlsx")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True))
    header = rows[0]
    assert header[0] == "案件编号" and "办理结果" in header and "满意度" in header
    row = next(r for r in rows[1:] if r[0] == cases["done"])
    assert row[header.index("办理结果")] == "管道已疏通" and row[header.index("满意度")] == 5
    assert row[header.index("状态")] == "已回访"
    problems = load_workbook(io.BytesIO(users["grid2"].get("/grids/export/problems.xlsx").content)).active
    numbers = [r[0] for r in problems.iter_rows(min_row=2, values_only=True)]
    assert cases["pending"] in numbers and cases["done"] not in numbers  # scoped to grid2's grid
    assert users["grid1"].get("/grids/export/secrets.xlsx").status_code == 404


def test_list_pages_paginate(env, users) -> None:
    from support.synthetic import bulk_insert_pending

    bulk_insert_pending(env.app.state.db, 80)
    admin = users["admin"]
    first = admin.get("/grids?view=problems").text
    assert len(re.findall(r'data-label="案件编号"><a href="/cases/', first)) == 25
    assert 'rel="next"' in first
    second = admin.get("/grids?view=problems&page=2").text
    assert 'rel="prev"' in second and len(re.findall(r'href="/cases/(\d+)"', second)) == 25


def test_dashboard_shows_charts_without_external_resources(users, cases) -> None:
    users["grid1"].submit(WAGES)
    r = users["admin"].get("/dashboard?days=7")
    assert r.status_code == 200
    html = r.text
    assert html.count('<svg class="chart') >= 5
    assert cases["done"] in html  # 最近办结
    assert "城乡建设" in html and "办结率" in html and "满意度" in html
    assert not re.search(r'(src|href)="(https?:)?//', html)  # no CDN, nothing external
    received = int(re.search(r'id="kpi-received">(\d+)<', html).group(1))
    assert received >= 2


def test_dashboard_is_scoped_to_the_department(users, cases) -> None:
    html = users["dept_housing"].get("/dashboard").text
    assert "仅统计本部门" in html
    assert int(re.search(r'id="kpi-received">(\d+)<', html).group(1)) >= 1
    assert users["grid2"].get("/dashboard?days=999").status_code == 200  # unknown period → default


def test_dashboard_ranks_hot_issues(env, users) -> None:
    grid = users["grid1"]
    for tail in ("", "已经一个星期了", "请尽快派人处理"):
        grid.submit(NOISE + tail)
    admin = users["admin"]
    admin.get("/dashboard?days=90")  # starts the clustering in the background (a period no test used)
    env.app.state.web_hot.wait()
    html = admin.get("/dashboard?days=90").text
    assert "热点正在计算中" not in html
    table = html[html.index("热点诉求") :]
    assert re.search(r'data-label="案件数">[3-9]<', table), "the three similar reports form one hot issue"


def test_assignment_and_completion_lists_carry_the_masked_text_and_title(users, cases) -> None:
    text = "幸福路十号楼的路灯坏了半个月，晚上漆黑一片，联系电话13812345678，请尽快修复。"
    no = users["grid1"].submit(text, title="幸福路路灯不亮")
    untitled = users["grid1"].submit(SEWAGE + "三单元门口也在冒水")
    for case_no in (no, untitled):
        fix = {"category": "城乡建设", "department_code": "housing"}
        assert users["reviewer"].post(f"/review/{case_no}/correct", fix).status_code == 303
    page = users["admin"].get("/grids?view=assignments").text
    assert "幸福路路灯不亮" in page and "13812345678" not in page
    assert "新华村二组的下水道" in page  # no title: the text's opening stands in, not the category
    for kind in ("assignments", "completions"):
        sheet = load_workbook(io.BytesIO(users["admin"].get(f"/grids/export/{kind}.xlsx").content)).active
        rows = list(sheet.iter_rows(values_only=True))
        header = rows[0]
        assert header.index("标题") < header.index("诉求内容")
        if kind == "assignments":
            row = next(r for r in rows[1:] if r[0] == no)
            assert row[header.index("标题")] == "幸福路路灯不亮"
            assert (
                row[header.index("诉求内容")].startswith("幸福路十号楼")
                and "13812345678" not in row[header.index("诉求内容")]
            )
        else:
            row = next(r for r in rows[1:] if r[0] == cases["done"])
            assert row[header.index("诉求内容")].startswith("新华村二组")
