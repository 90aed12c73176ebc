"""HTTP API over SQLite and PostgreSQL: cases, review, transitions, feedback, lists, idempotency."""

from __future__ import annotations

import pytest
from support.api_env import (
    ELEVATOR,
    NOISE,
    PARKING,
    SEWAGE,
    SEWAGE_AGAIN,
    WAGES,
    ApiEnv,
)


@pytest.fixture(scope="module")
def api(api_env):
    """The app on a fresh SQLite and PostgreSQL database, one user per role (tests/conftest.py)."""
    return api_env


def _submit(api: ApiEnv, who: str, text: str, **extra) -> dict:
    r = api.post(who, "/api/v1/cases", json={"text": text, **extra})
    assert r.status_code == 201, r.text
    return r.json()


def test_submit_returns_the_case_with_suggestion_and_duplicates(api: ApiEnv) -> None:
    first = _submit(
        api, "operator", SEWAGE, title="下水道堵塞", reporter_phone="13800001111", address="新华村二组"
    )
    assert first["case_no"].isdigit() and len(first["case_no"]) == 13
    assert first["status"] == "pending_review" and first["source"] == "hotline"
    assert first["suggestion"]["category"] and first["suggestion"]["department_code"]
    assert first["suggestion"]["model_version"] and first["category"] is None
    assert "13800001111" not in first["reporter_contact"]
    second = _submit(api, "operator", SEWAGE_AGAIN)
    assert first["case_no"] in [d["case_no"] for d in second["duplicate_candidates"]]


def test_idempotency_key_replays_the_first_response(api: ApiEnv) -> None:
    headers = {"Idempotency-Key": "retry-1"}
    before = api.count_cases()
    a = api.post("operator", "/api/v1/cases", json={"text": WAGES}, headers=headers)
    b = api.post("operator", "/api/v1/cases", json={"text": WAGES}, headers=headers)
    assert a.status_code == b.status_code == 201
    assert a.json()["case_no"] == b.json()["case_no"] and b.headers["Idempotent-Replayed"] == "true"
    assert api.count_cases() == before + 1
    other = api.post("operator", "/api/v1/cases", json={"text": PARKING}, headers=headers)
    assert other.status_code == 422 and other.json()["error"]["code"] == "idempotency_key_reused"
    # Keys are per user: the same key from someone else is a new request.
    c = api.post("grid1", "/api/v1/cases", json={"text": WAGES}, headers=headers)
    assert c.status_code == 201 and c.json()["case_no"] != a.json()["case_no"]


def test_get_case_has_history_and_list_filters(api: ApiEnv) -> None:
    case = _submit(api, "operator", NOISE)
    r = api.get("reviewer", f"/api/v1/cases/{case['case_no']}")
    assert r.status_code == 200
    body = r.json()
    assert [e["action"] for e in body["history"]] == ["submit"] and body["history"][0]["actor"] == "operator"
    listed = api.get("admin", "/api/v1/cases", params={"status": "pending_review", "limit": 200}).json()
    assert case["case_no"] in [c["case_no"] for c in listed["items"]]
    cat = case["suggestion"]["category"]
    by_cat = api.get("admin", "/api/v1/cases", params={"category": cat, "limit": 200}).json()["items"]
    assert by_cat and all((c["category"] or c["suggestion"]["category"]) == cat for c in by_cat)
    assert api.get("admin", "/api/v1/cases", params={"overdue": "true"}).status_code == 200
    assert (
        api.get("admin", "/api/v1/cases", params={"date_from": "2000-01-01", "date_to": "2000-01-02"}).json()[
            "items"
        ]
        == []
    )
    page = api.get("admin", "/api/v1/cases", params={"limit": 1}).json()
    assert len(page["items"]) == 1 and page["next_offset"] == 1


def test_unknown_category_department_and_state_list_allowed_values(api: ApiEnv) -> None:
    for params, field in (({"category": "火星"}, "category"), ({"department": "nasa"}, "department")):
        r = api.get("admin", "/api/v1/cases", params=params)
        assert r.status_code == 422, r.text
        err = r.json()["error"]
        assert err["field"] == field and err["allowed"] and err["code"].startswith("unknown_")
    r = api.get("admin", "/api/v1/cases", params={"status": "lost"})
    assert r.status_code == 422 and "pending_review" in r.json()["error"]["allowed"]
    case = _submit(api, "operator", PARKING)
    r = api.post("admin", f"/api/v1/cases/{case['case_no']}/transition", json={"to": "limbo"})
    assert (
        r.status_code == 422
        and r.json()["error"]["field"] == "to"
        and "closed" in r.json()["error"]["allowed"]
    )
    r = api.post(
        "reviewer", f"/api/v1/cases/{case['case_no']}/review", json={"action": "correct", "category": "火星"}
    )
    assert r.status_code == 422 and "城乡建设" in r.json()["error"]["allowed"]


def test_claim_lease_and_review_actions(api: ApiEnv) -> None:
    case = _submit(api, "operator", ELEVATOR)
    no = case["case_no"]
    queue = api.get("reviewer", "/api/v1/review-queue", params={"limit": 200}).json()
    assert no in [c["case_no"] for c in queue["items"]]
    assert api.post("reviewer", f"/api/v1/cases/{no}/claim").json()["lease"]["owner"] == "reviewer"
    taken = api.post("reviewer2", f"/api/v1/cases/{no}/claim")
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "lease_held"
    assert api.post("reviewer2", f"/api/v1/cases/{no}/review", json={"action": "accept"}).status_code == 409
    done = api.post(
        "reviewer", f"/api/v1/cases/{no}/review", json={"action": "accept", "requirement": "三日内答复"}
    )
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["status"] == "dispatched" and body["department_code"] == case["suggestion"]["department_code"]
    again = api.post("reviewer", f"/api/v1/cases/{no}/review", json={"action": "accept"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "illegal_transition"


def test_correct_merge_and_reject(api: ApiEnv) -> None:
    a = _submit(api, "operator", WAGES)
    r = api.post(
        "reviewer",
        f"/api/v1/cases/{a['case_no']}/review",
        json={"action": "correct", "category": "劳动和社会保障", "department_code": "housing", "level": "区"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["department_code"] == "housing" and r.json()["corrected"] is True
    parent, child = _submit(api, "operator", SEWAGE), _submit(api, "operator", SEWAGE_AGAIN)
    merge = {"action": "merge", "into": parent["case_no"]}
    assert (
        api.post("reviewer", f"/api/v1/cases/{child['case_no']}/review", json=merge).json()["status"]
        == "merged"
    )
    assert api.get("reviewer", f"/api/v1/cases/{parent['case_no']}").json()["citizens"] == 2
    c = _submit(api, "operator", PARKING)
    no_reason = api.post("reviewer", f"/api/v1/cases/{c['case_no']}/review", json={"action": "reject"})
    assert no_reason.status_code == 422 and no_reason.json()["error"]["field"] == "reason"
    rejected = api.post(
        "reviewer", f"/api/v1/cases/{c['case_no']}/review", json={"action": "reject", "reason": "重复来电"}
    )
    assert rejected.json()["status"] == "rejected"


def test_department_lifecycle_and_feedback(api: ApiEnv) -> None:
    case = _submit(api, "grid1", ELEVATOR)
    no = case["case_no"]
    fix = {"action": "correct", "department_code": "housing"}
    assert api.post("reviewer", f"/api/v1/cases/{no}/review", json=fix).status_code == 200
    assert api.get("dept_housing", f"/api/v1/cases/{no}").status_code == 200
    assert api.get("dept_other", f"/api/v1/cases/{no}").status_code == 403
    start = {"to": "in_progress"}
    assert api.post("dept_other", f"/api/v1/cases/{no}/transition", json=start).status_code == 403
    assert (
        api.post("dept_housing", f"/api/v1/cases/{no}/transition", json=start).json()["status"]
        == "in_progress"
    )
    no_result = api.post("dept_housing", f"/api/v1/cases/{no}/transition", json={"to": "resolved"})
    assert no_result.status_code == 422 and no_result.json()["error"]["field"] == "result"
    illegal = api.post(
        "dept_housing", f"/api/v1/cases/{no}/transition", json={"to": "closed", "satisfaction": 5}
    )
    assert illegal.status_code == 403
    done = api.post(
        "dept_housing", f"/api/v1/cases/{no}/transition", json={"to": "resolved", "result": "已立项"}
    )
    assert done.json()["status"] == "resolved"
    assert (
        api.post("dept_housing", f"/api/v1/cases/{no}/feedback", json={"satisfaction": 5}).status_code == 403
    )
    bad = api.post("operator", f"/api/v1/cases/{no}/feedback", json={"satisfaction": 6})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "satisfaction"
    closed = api.post("grid1", f"/api/v1/cases/{no}/feedback", json={"satisfaction": 4, "comment": "满意"})
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    detail = api.get("admin", f"/api/v1/cases/{no}").json()
    assert detail["feedback"][0]["satisfaction"] == 4
    actions = [e["action"] for e in detail["history"]]
    assert actions[0] == "submit" and actions[1] in {"accept", "correct"}  # correct == suggestion → accept
    assert actions[2:] == ["start", "resolve", "close"]
    again = api.post("operator", f"/api/v1/cases/{no}/feedback", json={"satisfaction": 3})
    assert again.status_code == 409 and again.json()["error"]["code"] == "illegal_transition"


def test_department_return_goes_back_to_review(api: ApiEnv) -> None:
    case = _submit(api, "operator", NOISE)
    no = case["case_no"]
    api.post(
        "reviewer", f"/api/v1/cases/{no}/review", json={"action": "correct", "department_code": "housing"}
    )
    back = api.post(
        "dept_housing",
        f"/api/v1/cases/{no}/transition",
        json={"to": "pending_review", "note": "非本部门职责"},
    )
    assert back.status_code == 200 and back.json()["status"] == "pending_review"
    assert back.json()["return_reason"] == "非本部门职责"


def test_grid_and_deputy_scopes(api: ApiEnv) -> None:
    mine = _submit(api, "grid1", PARKING)
    assert mine["grid_code"] == "G001" and mine["source"] == "grid"
    other_grid = _submit(api, "grid2", WAGES)
    refused = api.post("grid2", "/api/v1/cases", json={"text": NOISE, "grid": "G001"})
    assert refused.status_code == 403 and refused.json()["error"]["field"] == "grid"  # not its grid
    # submitted before grid2 left G001 (today's rules refuse it): still visible to its submitter
    helped = {"case_no": api.app.state.service.submit(NOISE, grid_code="G001", actor="grid2").case_no}
    assert api.get("grid2", f"/api/v1/cases/{mine['case_no']}").status_code == 403
    assert api.get("grid2", f"/api/v1/cases/{helped['case_no']}").status_code == 200  # submitted it
    assert api.get("grid1", f"/api/v1/cases/{helped['case_no']}").status_code == 200  # its grid
    seen = {c["case_no"] for c in api.get("grid2", "/api/v1/cases", params={"limit": 200}).json()["items"]}
    assert {other_grid["case_no"], helped["case_no"]} <= seen and mine["case_no"] not in seen
    assert api.get("deputy", f"/api/v1/cases/{mine['case_no']}").status_code == 200
    assert api.get("deputy", f"/api/v1/cases/{other_grid['case_no']}").status_code == 403
    seen = {
        c["case_no"] for c in api.get("dept_housing", "/api/v1/cases", params={"limit": 200}).json()["items"]
    }
    assert all(api.get("admin", f"/api/v1/cases/{n}").json()["department_code"] == "housing" for n in seen)


def test_three_lists_are_scoped(api: ApiEnv) -> None:
    _submit(api, "grid1", SEWAGE)
    for kind in ("problems", "assignments", "completions"):
        r = api.get("admin", f"/api/v1/lists/{kind}")
        assert r.status_code == 200 and r.json()["kind"] == kind
    problems = api.get("grid1", "/api/v1/lists/problems").json()["items"]
    assert problems and all(row["grid_code"] == "G001" for row in problems)
    assert api.get("grid1", "/api/v1/lists/problems", params={"grid": "G002"}).status_code == 403
    assert (
        api.get("dept_housing", "/api/v1/lists/assignments", params={"department": "transport"}).status_code
        == 403
    )
    rows = api.get("dept_housing", "/api/v1/lists/assignments").json()["items"]
    assert all(row["department_code"] == "housing" for row in rows)
    bad = api.get("admin", "/api/v1/lists/todo")
    assert bad.status_code == 422 and set(bad.json()["error"]["allowed"]) == {
        "problems",
        "assignments",
        "completions",
    }


@pytest.mark.parametrize(
    ("who", "method", "path", "body"),
    [
        ("operator", "get", "/api/v1/review-queue", None),
        ("grid1", "post", "/api/v1/review-queue/claim", None),
        ("dept_housing", "post", "/api/v1/cases", {"text": PARKING}),
        ("deputy", "post", "/api/v1/cases/{no}/review", {"action": "accept"}),
        ("operator", "post", "/api/v1/cases/{no}/claim", None),
        ("grid1", "post", "/api/v1/cases/{no}/transition", {"to": "rejected", "note": "x"}),
        ("dept_housing", "post", "/api/v1/cases/{no}/feedback", {"satisfaction": 5}),
    ],
)
def test_wrong_role_is_403(api: ApiEnv, who: str, method: str, path: str, body: dict | None) -> None:
    case = _submit(api, "grid1", SEWAGE)
    r = (
        getattr(api, method)(who, path.format(no=case["case_no"]), json=body)
        if body
        else getattr(api, method)(who, path.format(no=case["case_no"]))
    )
    assert r.status_code == 403, r.text
    assert r.json()["error"]["code"] == "forbidden"


def test_concurrent_retries_with_one_key_create_one_case(api: ApiEnv) -> None:
    from concurrent.futures import ThreadPoolExecutor

    before = api.count_cases()
    headers = {"Idempotency-Key": "burst-1"}

    def send(_: int):
        return api.post(
            "operator", "/api/v1/cases", json={"text": ELEVATOR, "title": "加装电梯"}, headers=headers
        )

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(send, range(8)))
    assert {r.status_code for r in answers} == {201}
    assert len({r.json()["case_no"] for r in answers}) == 1
    assert api.count_cases() == before + 1


def test_transition_details_are_checked_before_the_store(api: ApiEnv) -> None:
    case = _submit(api, "operator", PARKING)
    path = f"/api/v1/cases/{case['case_no']}/transition"
    r = api.post("reviewer", path, json={"to": "merged"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "into"
    r = api.post("reviewer", path, json={"to": "rejected"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "note"
    r = api.post(
        "admin", path, json={"to": "resolved", "result": "x"}
    )  # admins: every step, lifecycle checked
    assert r.status_code == 409 and set(r.json()["error"]["allowed"]) == {"dispatched", "merged", "rejected"}
    r = api.post("reviewer", path, json={"to": "dispatched", "requirement": "尽快处理"})
    assert (
        r.status_code == 200 and r.json()["status"] == "dispatched" and r.json()["requirement"] == "尽快处理"
    )


@pytest.mark.parametrize(
    ("to", "body"),
    [("in_progress", {}), ("resolved", {"result": "已处理"}), ("pending_review", {"note": "退回"})],
)
def test_reviewers_cannot_take_the_departments_steps(api: ApiEnv, to: str, body: dict) -> None:
    """Issue 13 item 4: the page hid 签收/办结/退回 from reviewers, but the API still let them through."""
    case = _submit(api, "operator", PARKING + f"（{to}）")
    path = f"/api/v1/cases/{case['case_no']}/transition"
    assert api.post("reviewer", path, json={"to": "dispatched"}).status_code == 200
    r = api.post("reviewer", path, json={"to": to, **body})
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert "department" in r.json()["error"]["message"]
    assert api.get("admin", f"/api/v1/cases/{case['case_no']}").json()["status"] == "dispatched"
