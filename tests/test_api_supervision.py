"""督办 and 吹哨报到 through the JSON API (SQLite and PostgreSQL): roles, scopes, the error contract,
the report-in owed by the receiving department, the scoped lists."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from support.api_env import SEWAGE, ApiEnv

from triage.config import LOCAL_TZ


@pytest.fixture(scope="module")
def api(api_env) -> ApiEnv:
    return api_env


def _dispatched(api: ApiEnv, who: str = "grid1", department: str = "housing") -> str:
    r = api.post(who, "/api/v1/cases", json={"text": SEWAGE})
    assert r.status_code == 201, r.text
    case_no = r.json()["case_no"]
    body = {"action": "correct", "category": "城乡建设", "department_code": department}
    assert api.post("reviewer", f"/api/v1/cases/{case_no}/review", json=body).status_code == 200
    return case_no


def _due(hours: float = 48) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


def _error(r) -> dict:
    return r.json()["error"]


def test_deputy_supervises_own_grid_and_the_department_sees_it(api: ApiEnv) -> None:
    case_no = _dispatched(api)
    r = api.post(
        "deputy", f"/api/v1/cases/{case_no}/supervise", json={"requirement": "三日内疏通", "due": _due()}
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["state"] == "open" and body["created_by"] == "deputy" and body["department_code"] == "housing"
    thread = api.get("dept_housing", f"/api/v1/cases/{case_no}/supervision")
    assert thread.status_code == 200 and [s["requirement"] for s in thread.json()["supervisions"]] == [
        "三日内疏通"
    ]
    mine = api.get("deputy", "/api/v1/supervisions?mine=true").json()
    assert case_no in {s["case_no"] for s in mine}
    assert case_no not in {s["case_no"] for s in api.get("grid2", "/api/v1/supervisions").json()}
    trail = api.get("admin", f"/api/v1/cases/{case_no}").json()["history"]
    assert [e["actor"] for e in trail if e["action"] == "supervise"] == ["deputy"]


def test_naive_due_is_local_time(api: ApiEnv) -> None:
    case_no = _dispatched(api)
    local = (datetime.now(LOCAL_TZ) + timedelta(days=2)).replace(tzinfo=None, microsecond=0)
    r = api.post(
        "admin", f"/api/v1/cases/{case_no}/supervise", json={"requirement": "核查", "due": local.isoformat()}
    )
    assert r.status_code == 201, r.text
    assert datetime.fromisoformat(r.json()["due"]) == local.replace(tzinfo=LOCAL_TZ)


@pytest.mark.parametrize(
    ("who", "status"), [("grid1", 403), ("operator", 403), ("dept_housing", 403), ("reviewer", 403)]
)
def test_only_deputies_and_admins_supervise(api: ApiEnv, who: str, status: int) -> None:
    case_no = _dispatched(api)
    r = api.post(who, f"/api/v1/cases/{case_no}/supervise", json={"requirement": "要求", "due": _due()})
    assert r.status_code == status and _error(r)["code"] == "forbidden"


def test_deputy_cannot_act_outside_their_grids(api: ApiEnv) -> None:
    case_no = _dispatched(api, who="grid2")  # grid G002; the deputy sits in G001
    for path, body in (
        ("supervise", {"requirement": "要求", "due": _due()}),
        ("escalate", {"reason": "原因"}),
    ):
        r = api.post("deputy", f"/api/v1/cases/{case_no}/{path}", json=body)
        assert r.status_code == 403, (path, r.text)
    r = api.post("grid1", f"/api/v1/cases/{case_no}/escalate", json={"reason": "原因"})
    assert r.status_code == 403
    assert api.get("admin", f"/api/v1/cases/{case_no}").json()["department_code"] == "housing"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"requirement": "", "due": "2030-01-01T00:00:00+08:00"}, "requirement"),
        ({"requirement": "   ", "due": "2030-01-01T00:00:00+08:00"}, "requirement"),
        ({"requirement": "要求", "due": "2020-01-01T00:00:00+08:00"}, "due"),
        ({"requirement": "要求", "due": "明天"}, "due"),
        ({"requirement": "要求"}, "due"),
        ({"requirement": "要求", "due": "2030-01-01T00:00:00+08:00", "extra": 1}, "extra"),
    ],
)
def test_supervise_bad_input_names_the_field(api: ApiEnv, body: dict, field: str) -> None:
    case_no = _dispatched(api)
    r = api.post("deputy", f"/api/v1/cases/{case_no}/supervise", json=body)
    assert r.status_code == 422, r.text
    assert field in (_error(r).get("field") or "") or field in r.text


def test_malformed_json_and_unknown_case(api: ApiEnv) -> None:
    case_no = _dispatched(api)
    r = api.post(
        "deputy",
        f"/api/v1/cases/{case_no}/escalate",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 400 and r.json()["error"]["code"]  # the error contract for malformed JSON
    assert api.post("deputy", "/api/v1/cases/0000000000000/escalate", json={"reason": "x"}).status_code == 404


def test_whistle_report_in_by_the_receiving_department(api: ApiEnv) -> None:
    case_no = _dispatched(api)
    r = api.post(
        "grid1",
        f"/api/v1/cases/{case_no}/escalate",
        json={"reason": "需要交通部门", "to_department": "transport"},
    )
    assert r.status_code == 201, r.text
    esc = r.json()
    assert (esc["from_department_code"], esc["to_department_code"]) == ("housing", "transport")
    assert esc["reported_in_at"] is None and esc["overdue"] is False
    waiting = api.get("dept_other", "/api/v1/whistles").json()
    assert case_no in {w["case_no"] for w in waiting}
    assert case_no not in {w["case_no"] for w in api.get("dept_housing", "/api/v1/whistles").json()}
    assert api.post("dept_housing", f"/api/v1/cases/{case_no}/report-in").status_code == 403  # not theirs now
    ok = api.post("dept_other", f"/api/v1/cases/{case_no}/report-in")
    assert ok.status_code == 200 and ok.json()["reported_in_by"] == "dept_other"
    again = api.post("dept_other", f"/api/v1/cases/{case_no}/report-in")
    assert again.status_code == 409 and _error(again)["code"] == "invalid_case_state"
    assert api.post("grid1", f"/api/v1/cases/{case_no}/report-in").status_code == 403
    trail = api.get("admin", f"/api/v1/cases/{case_no}").json()["history"]
    assert [e["action"] for e in trail][-2:] == ["escalate", "report_in"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reason": "原因", "to_level": "省"}, "to_level"),
        ({"reason": "原因", "to_department": "nope"}, "to_department"),
        ({"reason": "原因", "to_department": "housing"}, "to_department"),
        ({"reason": "原因", "to_department": "community"}, "to_department"),  # below 区: not upward
        ({"reason": ""}, "reason"),
    ],
)
def test_escalate_bad_targets(api: ApiEnv, body: dict, field: str) -> None:
    case_no = _dispatched(api)
    r = api.post("deputy", f"/api/v1/cases/{case_no}/escalate", json=body)
    assert r.status_code == 422, r.text
    assert field in (_error(r).get("field") or "") or field in r.text


def test_one_level_up_from_district(api: ApiEnv) -> None:
    case_no = _dispatched(api)
    r = api.post("deputy", f"/api/v1/cases/{case_no}/escalate", json={"reason": "区里协调不了"})
    assert r.status_code == 201, r.text
    assert (r.json()["from_level"], r.json()["to_level"]) == ("区", "市")
    case = api.get("admin", f"/api/v1/cases/{case_no}").json()
    assert case["level"] == "市" and case["department_code"] == r.json()["to_department_code"]


def _resolved(api: ApiEnv) -> str:
    """A G001 case handled by housing and resolved (办结): a 回访 task."""
    case_no = _dispatched(api)
    api.app.state.service.resolve(case_no, "dept_housing", "已疏通")
    return case_no


def test_followup_rates_and_closes(api: ApiEnv) -> None:
    case_no = _resolved(api)
    tasks = api.get("grid1", "/api/v1/followups").json()
    assert case_no in {t["case_no"] for t in tasks}
    assert case_no not in {t["case_no"] for t in api.get("grid2", "/api/v1/followups").json()}
    assert api.get("dept_housing", "/api/v1/followups").status_code == 403
    contact = api.post("grid1", f"/api/v1/cases/{case_no}/contact")  # the call needs the number
    assert contact.status_code == 200, contact.text
    r = api.post(
        "grid1", f"/api/v1/cases/{case_no}/followup", json={"rating": "satisfied", "comment": "满意"}
    )
    assert r.status_code == 201, r.text
    assert r.json()["outcome"] == "closed" and r.json()["case_status"] == "closed"
    assert api.post("grid1", f"/api/v1/cases/{case_no}/contact").status_code == 403  # closed: no more calls
    again = api.post("grid1", f"/api/v1/cases/{case_no}/followup", json={"rating": "satisfied"})
    assert again.status_code == 409


def test_followup_unsatisfied_and_bad_input(api: ApiEnv) -> None:
    case_no = _resolved(api)
    bad = api.post("operator", f"/api/v1/cases/{case_no}/followup", json={"rating": "happy"})
    assert bad.status_code == 422 and "rating" in bad.text
    assert (
        api.post(
            "dept_housing", f"/api/v1/cases/{case_no}/followup", json={"rating": "satisfied"}
        ).status_code
        == 403
    )
    assert (
        api.post("grid2", f"/api/v1/cases/{case_no}/followup", json={"rating": "satisfied"}).status_code
        == 403
    )
    r = api.post(
        "operator", f"/api/v1/cases/{case_no}/followup", json={"rating": "unsatisfied", "comment": "还在堵"}
    )
    assert (
        r.status_code == 201
        and r.json()["outcome"] == "rehandle"
        and r.json()["case_status"] == "in_progress"
    )
    assert r.json()["department_code"] == "housing"


def test_whistle_and_supervision_reach_the_departments_notifications(api: ApiEnv) -> None:
    case_no = _dispatched(api)
    sup = {"requirement": "三日内疏通", "due": _due()}
    assert api.post("deputy", f"/api/v1/cases/{case_no}/supervise", json=sup).status_code == 201

    def kinds(who: str) -> set[str]:
        items = api.get(who, "/api/v1/notifications", params={"limit": 200}).json()["items"]
        return {n["kind"] for n in items if n["case_no"] == case_no}

    assert kinds("dept_housing") == {"supervision"} and kinds("dept_other") == set()
    body = {"reason": "社区协调不了", "to_department": "transport"}
    assert api.post("deputy", f"/api/v1/cases/{case_no}/escalate", json=body).status_code == 201
    assert "whistle" in kinds("dept_other")  # the receiving department is told it owes a report-in
    assert kinds("dept_housing") == set()  # the case is no longer theirs
    again = api.post("deputy", f"/api/v1/cases/{case_no}/supervise", json=sup)
    # one alert per (case, kind): the earlier 督办 alert follows the case to its new department
    assert again.status_code == 201 and kinds("dept_other") == {"whistle", "supervision"}
