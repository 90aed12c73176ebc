"""/api/v1/rereview: the open re-review flags of reclassify runs and the reviewer's answers,
over HTTP with the error contract (the store behaviour itself is in test_batch_rereview.py)."""

from __future__ import annotations

import pytest
from support.api_env import ELEVATOR, NOISE, ApiEnv, running_app, temporary_database
from test_batch_db import SHIFTED

from triage.batch.reclassify import ReclassifyOptions, run_reclassify


@pytest.fixture(scope="module")
def api(tmp_path_factory, store_triager):
    with (
        temporary_database("sqlite", tmp_path_factory.mktemp("rereview")) as url,
        running_app(url, store_triager) as env,
    ):
        yield env


@pytest.fixture(scope="module")
def flags(api: ApiEnv) -> dict[str, str]:
    """Two reviewed cases the shifted model disputes: one dispatched, one returned to review."""
    numbers = []
    for text in (ELEVATOR, NOISE):
        r = api.post("operator", "/api/v1/cases", json={"text": text})
        assert r.status_code == 201, r.text
        numbers.append(r.json()["case_no"])
        r = api.post("reviewer", f"/api/v1/cases/{numbers[-1]}/review", json={"action": "accept"})
        assert r.status_code == 200, r.text
    service = api.app.state.service
    service.return_case(numbers[1], "dept", "不属于本部门职责")
    summary = run_reclassify(ReclassifyOptions(database=api.app.state.db, triager_factory=SHIFTED))
    assert summary.details["flagged"] == 2
    return {"dispatched": numbers[0], "returned": numbers[1], "job_id": summary.details["job_id"]}


def _error(r, status: int, code: str, field: str | None) -> dict:
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["code"] == code and err.get("field") == field, err
    return err


def test_list_needs_a_reviewer(api: ApiEnv, flags) -> None:
    assert api.get(None, "/api/v1/rereview").status_code == 401
    _error(api.get("operator", "/api/v1/rereview"), 403, "forbidden", None)
    _error(api.post("dept_housing", f"/api/v1/rereview/{flags['dispatched']}", json={"action": "dismiss"}),
           403, "forbidden", None)  # fmt: skip


def test_list_shows_old_decision_and_new_suggestion(api: ApiEnv, flags) -> None:
    r = api.get("reviewer", "/api/v1/rereview")
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["total"] == 2 and page["next_offset"] is None
    items = {i["case_no"]: i for i in page["items"]}
    item = items[flags["dispatched"]]
    assert item["status"] == "dispatched" and item["job_id"] == flags["job_id"]
    assert item["decision_category"] and item["suggested_category"] != item["decision_category"]
    assert item["model_version"].endswith("-shifted") and 0 <= item["confidence"] <= 1
    assert item["actions"] == ["dismiss"] and items[flags["returned"]]["actions"] == ["dismiss", "correct"]
    first = api.get("admin", "/api/v1/rereview", params={"limit": 1}).json()
    assert len(first["items"]) == 1 and first["next_offset"] == 1 and first["total"] == 2
    assert api.get("admin", "/api/v1/rereview", params={"job_id": flags["job_id"]}).json()["total"] == 2


@pytest.mark.parametrize(
    ("params", "code", "field"),
    [
        ({"department": "nope"}, "unknown_department", "department"),
        ({"job_id": "nope"}, "no_job", "job_id"),
        ({"limit": 0}, "validation_error", "limit"),
    ],
)
def test_bad_list_filters_name_the_field(api: ApiEnv, flags, params, code, field) -> None:
    _error(api.get("reviewer", "/api/v1/rereview", params=params), 422, code, field)


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({"action": "maybe"}, 422, "validation_error", "action"),
        ({}, 422, "validation_error", "action"),
        ({"action": "dismiss", "category": "城乡建设"}, 422, "unexpected_field", "category"),
        ({"action": "correct", "category": "不存在的分类"}, 422, "unknown_category", "category"),
        ({"action": "correct", "department_code": "nope"}, 422, "unknown_department", "department_code"),
        ({"action": "dismiss", "extra": 1}, 422, "validation_error", "extra"),
        ({"action": "correct"}, 409, "action_not_allowed", "action"),  # dispatched: dismiss only
    ],
)
def test_bad_answers_name_the_field(api: ApiEnv, flags, body, status, code, field) -> None:
    err = _error(
        api.post("reviewer", f"/api/v1/rereview/{flags['dispatched']}", json=body), status, code, field
    )
    if code == "action_not_allowed":
        assert err["allowed"] == ["dismiss"] and "pending review" in err["message"]
    if field == "action" and status == 422 and body:
        assert set(err["allowed"]) == {"dismiss", "correct"}


def test_unknown_or_unflagged_cases(api: ApiEnv, flags) -> None:
    _error(api.post("reviewer", "/api/v1/rereview/19990101999", json={"action": "dismiss"}),
           404, "case_not_found", "case_no")  # fmt: skip
    _error(api.post("reviewer", "/api/v1/rereview/" + "9" * 21, json={"action": "dismiss"}),
           422, "validation_error", "case_no")  # fmt: skip


def test_dismiss_then_correct_clears_the_list(api: ApiEnv, flags) -> None:
    no = flags["dispatched"]
    r = api.post("reviewer", f"/api/v1/rereview/{no}", json={"action": "dismiss", "note": "原分类正确"})
    assert r.status_code == 200, r.text
    assert r.json()["cleared"] == 1 and r.json()["case"]["status"] == "dispatched"
    err = _error(api.post("reviewer", f"/api/v1/rereview/{no}", json={"action": "dismiss"}),
                 409, "not_flagged", "case_no")  # fmt: skip
    assert "reviewer" in err["message"]

    item = api.get("admin", "/api/v1/rereview").json()["items"][0]
    body = {"action": "correct", "version": item["version"]}
    r = api.post("admin", f"/api/v1/rereview/{flags['returned']}", json=body)
    assert r.status_code == 200, r.text
    case = r.json()["case"]
    assert case["status"] == "dispatched" and case["category"] == item["suggested_category"]
    history = api.get("admin", f"/api/v1/cases/{flags['returned']}").json()["history"]
    assert [e["action"] for e in history][-2:] == ["correct", "rereview_correct"]
    assert api.get("reviewer", "/api/v1/rereview").json() == {
        "items": [], "total": 0, "limit": 50, "offset": 0, "next_offset": None,
    }  # fmt: skip
