"""Review queue filters (category, overdue, …) and bulk review (issue #13 item 5), over the JSON
API on SQLite and PostgreSQL and through the queue page."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import unquote

import pytest
from sqlmodel import col, select
from support.api_env import ELEVATOR, NOISE, PARKING, SEWAGE, WAGES, ApiEnv
from test_web_support import WebUser

from api.limits import BULK_REVIEW_MAX
from triage.store.models import Case

BULK = "/api/v1/review-queue/bulk"


@pytest.fixture(scope="module")
def api(api_env):
    return api_env


def _submit(api: ApiEnv, text: str) -> str:
    r = api.post("grid1", "/api/v1/cases", json={"text": text, "grid": "G001"})
    assert r.status_code == 201, r.text
    return r.json()["case_no"]


def _set(api: ApiEnv, case_no: str, **values) -> None:
    with api.app.state.db.session(write=True) as session:
        case = session.exec(select(Case).where(col(Case.case_no) == case_no)).one()
        for name, value in values.items():
            setattr(case, name, value)
        session.add(case)


def _status(api: ApiEnv, case_no: str) -> dict:
    return api.get("reviewer", f"/api/v1/cases/{case_no}").json()


def test_bulk_accept_takes_only_confident_suggestions(api: ApiEnv) -> None:
    sure, also_sure, unsure = (_submit(api, t) for t in (NOISE, PARKING, WAGES))
    _set(api, sure, needs_review=False)
    _set(api, also_sure, needs_review=False)
    _set(api, unsure, needs_review=True)
    r = api.post("reviewer", BULK, json={"action": "accept", "case_nos": [sure, unsure, also_sure]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [c["case_no"] for c in body["done"]] == [sure, also_sure]
    assert body["failed"] == [
        {"case_no": unsure, "code": "needs_review", "message": body["failed"][0]["message"]}
    ]
    for no in (sure, also_sure):
        case = _status(api, no)
        assert case["status"] == "dispatched" and case["department_code"]
    assert _status(api, unsure)["status"] == "pending_review"
    audit = api.get("reviewer", f"/api/v1/cases/{sure}").json()
    assert any(e.get("actor") == "reviewer" for e in audit.get("history", []))


def test_bulk_dispatch_sends_every_selected_case_to_one_department(api: ApiEnv) -> None:
    a, b, held = (_submit(api, t) for t in (SEWAGE, ELEVATOR, NOISE))
    assert api.post("reviewer2", f"/api/v1/cases/{held}/claim").status_code == 200
    r = api.post(
        "reviewer", BULK, json={"action": "dispatch", "department_code": "housing", "case_nos": [a, b, held]}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert {c["case_no"] for c in body["done"]} == {a, b}
    assert [(f["case_no"], f["code"]) for f in body["failed"]] == [(held, "lease_held")]
    for no in (a, b):
        case = _status(api, no)
        assert (case["status"], case["department_code"]) == ("dispatched", "housing")


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"action": "dispatch", "case_nos": ["2026010100001"]}, 422, "department_code"),
        (
            {"action": "dispatch", "department_code": "nowhere", "case_nos": ["2026010100001"]},
            422,
            "department_code",
        ),
        ({"action": "accept", "case_nos": ["2026010100001", "2026010100001"]}, 422, "case_nos"),
        ({"action": "accept", "case_nos": []}, 422, "case_nos"),
        (
            {"action": "accept", "case_nos": [f"20260101{i:05d}" for i in range(BULK_REVIEW_MAX + 1)]},
            422,
            "case_nos",
        ),
        ({"action": "close", "case_nos": ["2026010100001"]}, 422, "action"),
    ],
)
def test_bulk_refuses_bad_requests_naming_the_field(api: ApiEnv, body: dict, status: int, field: str) -> None:
    r = api.post("reviewer", BULK, json=body)
    assert r.status_code == status, r.text
    assert field in r.text


def test_bulk_reports_unknown_cases_and_is_for_reviewers_only(api: ApiEnv) -> None:
    r = api.post("reviewer", BULK, json={"action": "accept", "case_nos": ["2000010100001"]})
    assert r.status_code == 200 and r.json()["failed"][0]["code"] == "case_not_found"
    for who in ("grid1", "dept_housing", "deputy"):
        assert (
            api.post(who, BULK, json={"action": "accept", "case_nos": ["2000010100001"]}).status_code == 403
        )


def test_queue_filters_by_category_and_overdue(api: ApiEnv) -> None:
    late, fresh = _submit(api, SEWAGE), _submit(api, NOISE)
    _set(
        api, late, deadline=api.app.state.service.clock() - timedelta(hours=1), suggested_category="城乡建设"
    )
    _set(api, fresh, suggested_category="环境保护")
    queue = "/api/v1/review-queue"
    overdue = api.get("reviewer", queue, params={"overdue": "true", "limit": 200}).json()["items"]
    assert late in {c["case_no"] for c in overdue} and fresh not in {c["case_no"] for c in overdue}
    env = api.get("reviewer", queue, params={"category": "环境保护", "limit": 200}).json()["items"]
    assert fresh in {c["case_no"] for c in env} and {c["suggestion"]["category"] for c in env} == {"环境保护"}
    bad = api.get("reviewer", queue, params={"category": "火星"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "category"
    grid = api.get("reviewer", queue, params={"grid": "G001", "priority": "normal", "limit": 200}).json()[
        "items"
    ]
    assert all(c["grid_code"] == "G001" and c["priority"] == "normal" for c in grid)


def test_queue_page_bulk_accept_and_filters(api: ApiEnv) -> None:
    if api.app.state.db.engine.dialect.name != "sqlite":
        pytest.skip("the page calls the same action; its database behaviour is covered above")
    sure = _submit(api, PARKING)
    _set(api, sure, needs_review=False, suggested_category="交通运输")
    web = WebUser(api.app, "reviewer")
    page = web.get("/review?category=交通运输")
    assert page.status_code == 200 and f'value="{sure}"' in page.text and 'id="filter-category"' in page.text
    assert 'id="filter-overdue"' in page.text and 'id="bulk-accept"' in page.text
    done = web.post(
        "/review/bulk", {"action": "accept", "case_no": sure, "back": "/review?category=交通运输"}
    )
    assert done.status_code == 303 and unquote(done.headers["location"]) == "/review?category=交通运输"
    assert "已批量采纳 1 件" in web.follow(done).text
    assert _status(api, sure)["status"] == "dispatched"
    none = web.follow(web.post("/review/bulk", {"action": "accept"}))
    assert "请先勾选" in none.text
    bad = web.follow(web.post("/review/bulk", {"action": "dispatch", "case_no": sure}))
    assert "请选择部门" in bad.text


def test_desk_filters_keep_deadline_order(api: ApiEnv) -> None:
    if api.app.state.db.engine.dialect.name != "sqlite":
        pytest.skip("the desk reads through urgent_cases / search, covered on both databases elsewhere")
    now = api.app.state.service.clock()
    sewage, noise = _submit(api, SEWAGE), _submit(api, NOISE)
    for no, category, hours in ((sewage, "城乡建设", -2), (noise, "环境保护", 3)):
        _set(api, no, status="dispatched", department_code="housing", category=category,
             deadline=now + timedelta(hours=hours))  # fmt: skip
    desk = WebUser(api.app, "dept_housing")
    page = desk.get("/desk?category=环境保护").text
    assert noise in page and sewage not in page and 'id="filter-category"' in page
    assert "tab=overdue" in page and "category=%E7%8E%AF" in page  # the tabs keep the filter
    late = desk.get("/desk?tab=overdue&category=城乡建设").text
    assert sewage in late and noise not in late
    assert noise not in desk.get("/desk?tab=overdue&category=环境保护").text
