"""Deadline counts and notifications over the JSON API (SQLite and PostgreSQL): scope per role,
mark read, bad input answered with the error contract."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import col
from support.api_env import NOISE, PARKING, SEWAGE, ApiEnv

from triage.store.models import Case


@pytest.fixture(scope="module")
def api(api_env: ApiEnv) -> ApiEnv:
    svc = api_env.app.state.service
    now = svc.clock()
    for text, hours, age, status, dept in (
        (SEWAGE, 1, 2, "dispatched", "housing"),  # overdue
        (NOISE, 4, 3.5, "in_progress", "housing"),  # warned
        (PARKING, 1, 2, "pending_review", None),  # overdue in the queue
    ):
        case = svc.submit(text, source="hotline")
        created = now - timedelta(hours=age)
        values = {"created_at": created, "deadline": created + timedelta(hours=hours), "status": status}
        if dept:
            values["department_code"] = dept
        with svc.db.session(write=True) as session:
            session.execute(sa.update(Case).where(col(Case.id) == case.id).values(**values))
    return api_env


def test_counts_per_role(api: ApiEnv) -> None:
    got = {
        who: api.get(who, "/api/v1/notifications/counts").json()
        for who in ("dept_housing", "reviewer", "admin")
    }
    assert got["dept_housing"] == {"warning": 1, "overdue": 1, "total": 2}
    assert got["reviewer"] == {"warning": 0, "overdue": 1, "total": 1}
    assert got["admin"]["total"] == 3
    assert api.get("dept_other", "/api/v1/notifications/counts").json()["total"] == 0
    assert api.get(None, "/api/v1/notifications/counts").status_code == 401


def test_list_and_mark_read(api: ApiEnv) -> None:
    page = api.get("dept_housing", "/api/v1/notifications").json()
    assert {i["kind"] for i in page["items"]} == {"warning", "overdue"} and page["unread"] == 2
    assert api.get("dept_other", "/api/v1/notifications").json()["items"] == []
    first = page["items"][0]["id"]
    r = api.post("dept_other", "/api/v1/notifications/read", json={"ids": [first]})
    assert r.status_code == 200 and r.json() == {"marked": 0}  # not theirs: nothing changes
    assert api.post("dept_housing", "/api/v1/notifications/read", json={"ids": [first]}).json() == {
        "marked": 1
    }
    assert api.get("dept_housing", "/api/v1/notifications?unread=true").json()["unread"] == 1
    assert api.post("dept_housing", "/api/v1/notifications/read", json={}).json() == {"marked": 1}
    assert api.get("admin", "/api/v1/notifications").json()["unread"] == 3


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"ids": ["x"]}, "ids"),
        ({"ids": [0]}, "ids"),
        ({"ids": [2**63]}, "ids"),
        ({"all": True}, "all"),
        ({"ids": list(range(1, 600))}, "ids"),
    ],
)
def test_bad_input_names_the_field(api: ApiEnv, body: dict, field: str) -> None:
    r = api.post("admin", "/api/v1/notifications/read", json=body)
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] and error["message"] and field in (error.get("field") or "")


def test_bad_query_names_the_field(api: ApiEnv) -> None:
    r = api.get("admin", "/api/v1/notifications?limit=0")
    assert r.status_code == 422 and r.json()["error"]["field"] == "limit"
