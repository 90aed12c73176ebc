"""代表建议 through the JSON API (SQLite and PostgreSQL): who writes, answers, rates and reads them,
scopes, the error contract, and the full answer → unsatisfied → re-answer → closed loop."""

from __future__ import annotations

import pytest
from support.api_env import NOISE, ApiEnv


@pytest.fixture(scope="module")
def api(api_env) -> ApiEnv:
    return api_env


def _case(api: ApiEnv, who: str = "grid1") -> str:
    r = api.post(who, "/api/v1/cases", json={"text": NOISE})
    assert r.status_code == 201, r.text
    return r.json()["case_no"]


def _body(**kw) -> dict:
    return {
        "title": "关于广场噪音的建议",
        "problem": "广场舞噪音长期扰民",
        "suggestion": "限定时段与音量",
        "department_code": "housing",
        **kw,
    }


def test_full_loop(api: ApiEnv) -> None:
    cases = [_case(api), _case(api)]
    r = api.post("deputy", "/api/v1/proposals", json=_body(case_nos=cases))
    assert r.status_code == 201, r.text
    p = r.json()
    assert p["status"] == "assigned" and sorted(c["case_no"] for c in p["cases"]) == sorted(cases)
    assert p["grid_code"] == "G001" and p["overdue"] is False
    pid = p["id"]
    assert pid in {x["id"] for x in api.get("dept_housing", "/api/v1/proposals").json()}
    assert pid not in {x["id"] for x in api.get("dept_other", "/api/v1/proposals").json()}
    assert api.get("dept_other", f"/api/v1/proposals/{pid}").status_code == 403
    assert api.post("dept_other", f"/api/v1/proposals/{pid}/answer", json={"answer": "x"}).status_code == 403
    assert api.post("deputy", f"/api/v1/proposals/{pid}/answer", json={"answer": "x"}).status_code == 403
    early = api.post("deputy", f"/api/v1/proposals/{pid}/rating", json={"rating": "satisfied"})
    assert early.status_code == 409 and early.json()["error"]["code"] == "invalid_case_state"
    ans = api.post("dept_housing", f"/api/v1/proposals/{pid}/answer", json={"answer": "已限定晚九点后停止"})
    assert ans.status_code == 200 and ans.json()["status"] == "answered"
    assert api.post("admin", f"/api/v1/proposals/{pid}/rating", json={"rating": "bad"}).status_code == 422
    back = api.post(
        "deputy", f"/api/v1/proposals/{pid}/rating", json={"rating": "unsatisfied", "comment": "仍吵"}
    )
    assert (
        back.status_code == 200 and back.json()["status"] == "assigned" and back.json()["rehandle_count"] == 1
    )
    api.post("dept_housing", f"/api/v1/proposals/{pid}/answer", json={"answer": "已安装分贝屏"})
    done = api.post("deputy", f"/api/v1/proposals/{pid}/rating", json={"rating": "satisfied"})
    assert done.status_code == 200 and done.json()["status"] == "closed"
    assert pid in {x["id"] for x in api.get("deputy", "/api/v1/proposals?status=closed").json()}


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (_body(title=""), 422, "title"),
        (_body(department_code="nope"), 422, "department_code"),
        (_body(extra=1), 422, "extra"),
        (_body(case_nos=["2000010100001"]), 403, None),  # unknown or outside the grid: same answer
    ],
)
def test_create_errors(api: ApiEnv, body: dict, status: int, field: str | None) -> None:
    r = api.post("deputy", "/api/v1/proposals", json=body)
    assert r.status_code == status, r.text
    if field:
        assert field in r.text


def test_roles_and_scope(api: ApiEnv) -> None:
    theirs = _case(api, "grid2")  # G002: not the deputy's grid
    assert api.post("deputy", "/api/v1/proposals", json=_body(case_nos=[theirs])).status_code == 403
    for who in ("grid1", "operator", "dept_housing", "reviewer"):
        assert api.post(who, "/api/v1/proposals", json=_body()).status_code == 403, who
    assert api.get("grid1", "/api/v1/proposals").status_code == 403
    assert api.get("operator", "/api/v1/proposals").status_code == 200
    assert api.get("admin", "/api/v1/proposals/999999").status_code == 404
    admin_made = api.post("admin", "/api/v1/proposals", json=_body(case_nos=[theirs]))
    assert admin_made.status_code == 201
    assert api.get("deputy", f"/api/v1/proposals/{admin_made.json()['id']}").status_code == 403  # not theirs
