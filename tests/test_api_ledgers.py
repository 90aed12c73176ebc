"""台账 and 矛盾纠纷 through the JSON API (SQLite and PostgreSQL): scopes per role, figures equal to a
direct count, the error contract on bad filters and bodies."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlmodel import col
from support.api_env import NOISE, SEWAGE, ApiEnv

from triage.store.models import Case


@pytest.fixture(scope="module")
def api(api_env) -> ApiEnv:
    return api_env


@pytest.fixture(scope="module")
def seeded(api: ApiEnv) -> list[str]:
    nos = []
    for who, text in (("deputy", NOISE), ("deputy", SEWAGE), ("grid2", SEWAGE + "（二）")):
        r = api.post(who, "/api/v1/cases", json={"text": text})
        assert r.status_code == 201, r.text
        nos.append(r.json()["case_no"])
    for n in nos:
        body = {"action": "correct", "category": "城乡建设", "department_code": "housing"}
        assert api.post("reviewer", f"/api/v1/cases/{n}/review", json=body).status_code == 200
    api.app.state.service.resolve(nos[0], "dept_housing", "已处理")
    assert (
        api.post("operator", f"/api/v1/cases/{nos[0]}/followup", json={"rating": "satisfied"}).status_code
        == 201
    )
    return nos


def _count(api: ApiEnv, *where) -> int:
    with api.app.state.db.session() as s:
        return int(s.execute(sa.select(sa.func.count()).select_from(Case).where(*where)).scalar_one())


def test_requests_ledger_scoped_and_counted(api: ApiEnv, seeded) -> None:
    admin = api.get("admin", "/api/v1/ledgers/requests").json()
    assert admin["total"] == _count(api)
    mine = api.get("deputy", "/api/v1/ledgers/requests").json()
    assert mine["total"] == _count(api, col(Case.grid_code) == "G001")
    assert {r["case_no"] for r in mine["rows"]} >= set(seeded[:2]) and seeded[2] not in {
        r["case_no"] for r in mine["rows"]
    }
    assert api.get("deputy", "/api/v1/ledgers/requests?grid=G002").status_code == 403
    assert api.get("admin", "/api/v1/ledgers/requests?date_from=2026-13-01").status_code == 422
    assert api.get("admin", "/api/v1/ledgers/nope").status_code == 422


def test_department_and_deputy_ledgers(api: ApiEnv, seeded) -> None:
    rows = api.get("dept_housing", "/api/v1/ledgers/departments").json()
    assert [r["department_code"] for r in rows] == ["housing"]
    assert rows[0]["received"] == _count(api, col(Case.department_code) == "housing")
    assert rows[0]["satisfied"] >= 1 and rows[0]["satisfaction_rate"] is not None
    assert api.get("dept_housing", "/api/v1/ledgers/deputies").status_code == 403
    deputies = api.get("admin", "/api/v1/ledgers/deputies").json()
    d = next(r for r in deputies if r["username"] == "deputy")
    assert d["collected"] == _count(api, col(Case.submitted_by) == "deputy")
    head = api.get("admin", "/api/v1/ledgers/headline").json()
    assert head["cases_resolved"] == _count(api, col(Case.status).in_(["resolved", "closed"]))


def test_disputes_api(api: ApiEnv, seeded) -> None:
    r = api.post(
        "grid1",
        "/api/v1/disputes",
        json={
            "title": "漏水纠纷",
            "parties": "张某 13912345678、李某",
            "summary": "楼上漏水",
            "case_no": seeded[0],
        },
    )
    assert r.status_code == 201, r.text
    d = r.json()
    assert d["grid_code"] == "G001" and "13912345678" not in d["parties"]
    did = d["id"]
    bad = api.post(
        "grid1", f"/api/v1/disputes/{did}/sessions", json={"mediator": "甲", "note": "x", "outcome": "won"}
    )
    assert bad.status_code == 422 and "outcome" in bad.text
    ok = api.post(
        "grid1",
        f"/api/v1/disputes/{did}/sessions",
        json={"mediator": "甲", "note": "达成协议", "outcome": "resolved"},
    )
    assert ok.status_code == 201 and ok.json()["outcome"] == "resolved" and len(ok.json()["mediation"]) == 1
    again = api.post("grid1", f"/api/v1/disputes/{did}/sessions", json={"mediator": "甲", "note": "再次"})
    assert again.status_code == 409
    assert api.get("grid2", f"/api/v1/disputes/{did}").status_code == 403
    assert (
        api.post(
            "dept_housing", "/api/v1/disputes", json={"title": "a", "parties": "b", "summary": "c"}
        ).status_code
        == 403
    )
    no_grid = api.post("grid1", "/api/v1/disputes", json={"title": "a", "parties": "b", "summary": "c"})
    assert no_grid.status_code == 403
    led = api.get("grid1", "/api/v1/ledgers/disputes").json()
    assert led["resolved"] >= 1 and did in {x["id"] for x in led["rows"]}
    assert api.get("grid2", "/api/v1/ledgers/disputes").json()["total"] == 0
    assert api.get("admin", "/api/v1/ledgers/headline").json()["disputes_mediated"] >= 1
