"""台账 pages (issue #15 item 5): each ledger with filters and an XLSX export, disputes recorded and
mediated on the page, the dashboard's headline sentence; the page, the export and the API count
the same cases as a direct query (no drift)."""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from support.api_env import NOISE, PARKING, SEWAGE
from test_web_support import WebUser, field_block, text_of, web_app

from triage.store.models import Case


@pytest.fixture(scope="module")
def env(tmp_path_factory, store_triager):
    with web_app(f"sqlite:///{tmp_path_factory.mktemp('web') / 'web.db'}", store_triager) as env:
        yield env


@pytest.fixture(scope="module")
def users(env):
    return {n: WebUser(env.app, n) for n in ("grid1", "grid2", "reviewer", "dept_housing", "deputy", "admin")}


@pytest.fixture(scope="module")
def cases(users):
    grid = users["grid1"]
    done = [grid.submit(SEWAGE + f"（{i}）", grid="G001") for i in range(2)]
    other = users["grid2"].submit(PARKING, grid="G002")
    grid.submit(NOISE, grid="G001")
    for no in done:
        fix = {"category": "城乡建设", "department_code": "housing"}
        assert users["reviewer"].post(f"/review/{no}/correct", fix).status_code == 303
        assert users["dept_housing"].post(f"/cases/{no}/resolve", {"result": "已疏通"}).status_code == 303
    assert grid.post(f"/cases/{done[0]}/followup", {"rating": "satisfied"}).status_code == 303
    return {"done": done, "other": other}


def _count(env, **where) -> int:
    stmt = sa.select(sa.func.count()).select_from(Case)
    for name, value in where.items():
        stmt = stmt.where(getattr(Case, name) == value)
    with env.app.state.db.session() as session:
        return int(session.execute(stmt).scalar_one())


def _sheet(response) -> list[tuple]:
    assert response.status_code == 200, response.text[:500]
    return list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))


def test_requests_ledger_counts_what_a_direct_query_counts(env, users, cases) -> None:
    admin = users["admin"]
    page = admin.get("/ledgers?kind=requests&grid=G001")
    assert page.status_code == 200
    total = int(re.search(r"共 (\d+) 件诉求", page.text).group(1))
    assert total == _count(env, grid_code="G001") == 3
    rows = _sheet(admin.get("/ledgers/requests.xlsx?grid=G001"))
    assert rows[0][0] == "案件编号" and len(rows) - 1 == total
    api = env.client.get(
        "/api/v1/ledgers/requests",
        params={"grid": "G001"},
        headers={"Authorization": f"Bearer {_token(env, 'admin')}"},
    )
    assert api.status_code == 200 and api.json()["total"] == total
    assert cases["other"] not in page.text  # G002 filtered out


def test_headline_on_the_ledgers_and_the_dashboard(env, users, cases) -> None:
    admin = users["admin"]
    api = env.client.get(
        "/api/v1/ledgers/headline", headers={"Authorization": f"Bearer {_token(env, 'admin')}"}
    ).json()
    resolved = _count(env, status="resolved") + _count(env, status="closed")
    assert api["cases_resolved"] == resolved == 2 and api["rated"] == 1 and api["satisfaction_rate"] == 1.0
    for path, box in (("/ledgers", "ledger-headline"), ("/dashboard?days=30", "dashboard-headline")):
        html = admin.get(path).text
        sentence = text_of(html[html.index(f'id="{box}"') : html.index("</p>", html.index(f'id="{box}"'))])
        assert f"办结民生实事 {resolved} 件" in sentence and "群众满意度 100 %" in sentence, sentence


def test_disputes_are_recorded_and_mediated_on_the_page(env, users, cases) -> None:
    grid = users["grid1"]
    before = env.client.get(
        "/api/v1/ledgers/headline", headers={"Authorization": f"Bearer {_token(env, 'admin')}"}
    ).json()
    r = grid.post(
        "/disputes",
        {
            "title": "邻里<漏水>纠纷",
            "parties": "张三 13812345678；李四",
            "summary": "楼上漏水",
            "grid": "G001",
        },
    )
    assert r.status_code == 303, r.text[:500]
    page = grid.follow(r).text
    assert "邻里&lt;漏水&gt;纠纷" in page and "13812345678" not in page and "调解中" in page
    did = r.headers["location"].rsplit("/", 1)[-1]
    done = grid.post(
        f"/disputes/{did}/sessions", {"mediator": "王调解员", "note": "双方和解", "outcome": "resolved"}
    )
    assert done.status_code == 303 and "调解成功" in text_of(grid.follow(done).text)
    ledger = text_of(grid.get("/ledgers?kind=disputes").text)
    assert "调解成功 1" in ledger
    after = env.client.get(
        "/api/v1/ledgers/headline", headers={"Authorization": f"Bearer {_token(env, 'admin')}"}
    ).json()
    assert after["disputes_mediated"] == before["disputes_mediated"] + 1
    rows = _sheet(grid.get("/ledgers/disputes.xlsx"))
    assert any(r[rows[0].index("结果")] == "调解成功" for r in rows[1:])
    bad = grid.post("/disputes", {"title": "", "parties": "x", "summary": "y", "grid": "G001"})
    assert "请填写纠纷名称" in text_of(grid.follow(bad).text)
    assert users["grid2"].get(f"/disputes/{did}").status_code == 403
    assert (
        users["dept_housing"].get("/ledgers?kind=disputes").text.count("矛盾纠纷台账") <= 1
    )  # not a department's tab


def test_departments_and_deputies_ledgers_and_scope(env, users, cases) -> None:
    dept = users["dept_housing"]
    html = dept.get("/ledgers?kind=departments").text
    assert "住房和城乡建设局" in html and "交通运输局" not in html  # names, and only its own row
    rows = _sheet(dept.get("/ledgers/departments.xlsx"))
    row = rows[1]
    assert row[rows[0].index("办结")] == 2 and row[rows[0].index("满意率")] == "100%"
    assert dept.get("/ledgers/deputies.xlsx").status_code == 403
    deputies = text_of(users["deputy"].get("/ledgers?kind=deputies").text)
    assert "deputy" in deputies
    assert users["grid2"].get("/ledgers?kind=requests&grid=G001").status_code == 403
    bad = users["admin"].get("/ledgers?kind=requests&date_from=2026-13-01")
    assert bad.status_code == 422 and "日期格式" in field_block(bad.text, "date_from")


def _token(env, name: str) -> str:
    from api.security import new_token_for

    return new_token_for(env.app.state.db, name)
