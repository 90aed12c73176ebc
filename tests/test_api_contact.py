"""Calling the citizen back (issue #13 item 1), API on SQLite and PostgreSQL and the case page:
``POST /api/v1/cases/{case_no}/contact`` shows the stored contact to the handling department,
operators (回访) and admins, with an audit event; everyone else gets 403 and sees it masked."""

from __future__ import annotations

import pytest
from support.api_env import SEWAGE, ApiEnv
from test_web_support import WebUser, web_app

PHONE = "13912345678"


@pytest.fixture(scope="module")
def api(api_env) -> ApiEnv:
    return api_env


@pytest.fixture(scope="module")
def dispatched(api: ApiEnv) -> str:
    """A case with a phone number, dispatched to housing (dept_housing handles it)."""
    r = api.post(
        "grid1", "/api/v1/cases", json={"text": SEWAGE, "reporter_phone": PHONE, "reporter_name": "李四"}
    )
    assert r.status_code == 201, r.text
    case_no = r.json()["case_no"]
    body = {"action": "correct", "category": "城乡建设", "department_code": "housing"}
    assert api.post("reviewer", f"/api/v1/cases/{case_no}/review", json=body).status_code == 200
    return case_no


def _reveals(api: ApiEnv, case_no: str) -> list[str]:
    trail = api.get("admin", f"/api/v1/cases/{case_no}").json()["history"]
    return [e["actor"] for e in trail if e["action"] == "reveal_contact"]


@pytest.mark.parametrize("who", ["operator", "admin", "dept_housing"])
def test_allowed_roles_get_the_contact_and_are_audited(api: ApiEnv, dispatched: str, who: str) -> None:
    before = _reveals(api, dispatched)
    r = api.post(who, f"/api/v1/cases/{dispatched}/contact")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body == {"case_no": dispatched, "reporter_name": "李四", "reporter_contact": PHONE}
    assert _reveals(api, dispatched) == [*before, who]
    detail = api.get(who, f"/api/v1/cases/{dispatched}").json()
    assert PHONE not in str(detail)  # everywhere else it stays masked, for them too


@pytest.mark.parametrize("who", ["reviewer", "grid1", "deputy", "dept_other", "grid2"])
def test_other_roles_get_403_with_the_error_contract(api: ApiEnv, dispatched: str, who: str) -> None:
    before = _reveals(api, dispatched)
    r = api.post(who, f"/api/v1/cases/{dispatched}/contact")
    assert r.status_code == 403, r.text
    error = r.json()["error"]
    assert error["code"] == "forbidden" and error["message"]
    assert PHONE not in r.text and _reveals(api, dispatched) == before  # nothing shown, nothing logged


def test_unknown_case_and_bad_body(api: ApiEnv) -> None:
    r = api.post("operator", "/api/v1/cases/0000000000000/contact")
    assert r.status_code == 404 and r.json()["error"]["code"] == "case_not_found"
    r = api.post("operator", "/api/v1/cases/0000000000000/contact", json={"reason": "x" * 500})
    assert r.status_code == 422 and r.json()["error"]["field"] == "reason"
    assert api.post(None, "/api/v1/cases/0000000000000/contact").status_code == 401


# -- the page: a 显示联系电话 button (POST + CSRF), the number shown once on that response -------------
@pytest.fixture(scope="module")
def web(tmp_path_factory, store_triager):
    with web_app(f"sqlite:///{tmp_path_factory.mktemp('contact') / 'web.db'}", store_triager) as env:
        yield env


def test_case_page_reveal_button(web) -> None:
    grid = WebUser(web.app, "grid1")
    case_no = grid.submit(SEWAGE, reporter_phone=PHONE)
    op = WebUser(web.app, "operator")
    page = op.get(f"/cases/{case_no}").text
    assert PHONE not in page and "139****5678" in page and 'id="reveal-contact"' in page
    shown = op.post(f"/cases/{case_no}/contact", {})
    assert shown.status_code == 200 and PHONE in shown.text and "已记录" in shown.text
    assert PHONE not in op.get(f"/cases/{case_no}").text  # shown once, masked again on reload
    assert op.post(f"/cases/{case_no}/contact", {}, csrf=False).status_code == 403  # CSRF required
    rev = WebUser(web.app, "reviewer")
    page = rev.get(f"/cases/{case_no}").text
    assert 'id="reveal-contact"' not in page and PHONE not in page
    refused = rev.post(f"/cases/{case_no}/contact", {})
    assert refused.status_code == 403 and PHONE not in refused.text
    actors = [e.actor for e in web.app.state.service.audit_trail(case_no) if e.action == "reveal_contact"]
    assert actors == ["operator"]
