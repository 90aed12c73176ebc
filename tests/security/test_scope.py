"""Findings 2 and 8 (scope): merging at intake, duplicate suggestions, department lists and
submission rules follow one rule set (api/access.py) on the JSON API and the web pages.

Each test runs on SQLite and PostgreSQL (``api_env``). Grid workers ``grid1`` (G001) and
``grid2`` (G002), a deputy of G001, departments ``housing`` and ``transport``.
"""

from __future__ import annotations

import re
from html import unescape

import pytest
from sqlmodel import select
from support.api_env import ApiEnv
from test_web_support import WebUser, field_block

from api import access
from api.security import Principal
from triage.store.models import Case

# Hand-written petitions (not from any data set), one per test so duplicate suggestions don't mix.
LIFT = "幸福小区三号楼的电梯又坏了，已经停运五天，楼里好几位老人没法下楼买菜看病，请物业尽快修好。"
LAMPS = "滨江路从二桥到轮渡码头这一段的路灯连续一周晚上不亮，行人和电动车经过时很危险，希望尽快维修。"
DOGS = "东湖花园小区里有人遛狗不牵绳，昨天一条大狗扑倒了一个小孩，业主多次反映物业不管，请有关部门处理。"
TRASH = "农贸市场后门的垃圾桶满了三天没人清运，苍蝇蚊子很多，气味难闻，附近商户和居民都受不了。"
LEAK = "阳光新村七栋顶楼每逢下雨就漏水，墙皮大面积脱落，楼道也开始渗水，找了物业都没有下文，请住建部门协调。"
ROOF = "阳光新村七栋顶楼每逢下雨就漏水，墙皮大面积脱落，找了物业和维修基金都没有下文，请住建部门协调。"
NOT_A_CASE = "2000010100001"  # a well-formed case number that does not exist


@pytest.fixture(scope="module")
def api(api_env: ApiEnv) -> ApiEnv:
    return api_env


@pytest.fixture(scope="module")
def web(api: ApiEnv) -> dict[str, WebUser]:
    return {name: WebUser(api.app, name) for name in ("grid1", "grid2", "operator", "reviewer", "deputy")}


def _submit(api: ApiEnv, who: str, text: str, **extra) -> dict:
    r = api.post(who, "/api/v1/cases", json={"text": text, **extra})
    assert r.status_code == 201, r.text
    return r.json()


def _case(api: ApiEnv, no: str) -> dict:
    r = api.get("admin", f"/api/v1/cases/{no}")
    assert r.status_code == 200, r.text
    return r.json()


def _flashes(html: str) -> list[str]:
    return [
        unescape(re.sub(r"<[^>]+>", "", m)).strip()
        for m in re.findall(r'class="flash[^"]*"[^>]*>(.*?)</', html)
    ]


def _intake(user: WebUser, text: str, duplicate_of: str) -> tuple[int, str, list[str]]:
    """Post the intake form with ``duplicate_of``: (status, new case number, flash messages)."""
    r = user.post("/intake", {"text": text, "duplicate_of": duplicate_of})
    assert r.status_code == 303, (r.status_code, r.text[:500])
    page = user.follow(r)
    return r.status_code, r.headers["location"].rsplit("/", 1)[-1], _flashes(page.text)


# -- finding 2: merge through the intake form ----------------------------------------------------------
def test_intake_cannot_merge_into_a_case_outside_the_scope(api, web) -> None:
    """grid1 names grid2's case as duplicate_of: no merge, no extra citizen, review not skipped,
    and the answer is exactly the one for a case number that does not exist."""
    theirs = _submit(api, "grid2", LAMPS)
    assert api.get("grid1", f"/api/v1/cases/{theirs['case_no']}").status_code == 403

    status, child, flashes = _intake(web["grid1"], LAMPS, theirs["case_no"])
    mine = _case(api, child)
    assert mine["status"] == "pending_review" and mine["duplicate_of"] is None
    assert mine["possible_duplicate_of"] is None
    target = _case(api, theirs["case_no"])
    assert target["citizens"] == 1 and target["status"] == "pending_review"

    status_missing, _, flashes_missing = _intake(web["grid1"], LAMPS, NOT_A_CASE)
    assert status == status_missing
    normalise = [f for f in flashes if "案件编号" not in f]
    missing = [f.replace(NOT_A_CASE, theirs["case_no"]) for f in flashes_missing if "案件编号" not in f]
    assert normalise == missing and normalise  # same words, only the number differs


def test_grid_worker_duplicate_becomes_a_link_the_reviewer_decides(api, web) -> None:
    first = _submit(api, "grid1", LIFT)["case_no"]
    _, second, flashes = _intake(web["grid1"], LIFT, first)
    assert any("疑似重复" in f for f in flashes), flashes
    child, parent = _case(api, second), _case(api, first)
    assert child["status"] == "pending_review" and child["possible_duplicate_of"] == first
    assert parent["citizens"] == 1  # nothing counted before the reviewer decides
    page = web["grid1"].get(f"/cases/{second}").text
    assert 'id="possible-duplicate"' in page and f'href="/cases/{first}"' in page

    rev = web["reviewer"]
    queue = rev.get("/review").text
    assert f'data-possible-duplicate="{first}"' in queue
    bench = rev.get(f"/review/{second}").text
    assert 'id="possible-duplicate"' in bench and f'href="/cases/{first}"' in bench
    assert re.search(rf'id="into"[^>]*value="{first}"', bench)  # the merge form is filled in
    r = rev.post(f"/review/{second}/merge", {"into": first, "version": str(child["version"])})
    assert r.status_code == 303, r.text[:500]
    assert _case(api, second)["status"] == "merged" and _case(api, first)["citizens"] == 2


def test_reviewer_keeps_a_flagged_case_as_new(api, web) -> None:
    first = _submit(api, "grid1", ROOF)["case_no"]
    _, second, _ = _intake(web["grid1"], ROOF, first)
    version = _case(api, second)["version"]
    r = api.post("reviewer", f"/api/v1/cases/{second}/review", json={"action": "accept", "version": version})
    assert r.status_code == 200 and r.json()["status"] == "dispatched"
    assert _case(api, first)["citizens"] == 1
    assert 'id="possible-duplicate"' not in web["reviewer"].get(f"/review/{second}").text  # decided


def test_reviewers_still_merge_at_intake(api, web) -> None:
    first = _submit(api, "operator", TRASH)["case_no"]
    _, second, flashes = _intake(web["reviewer"], TRASH, first)
    assert any(f"合并到案件 {first}" in f for f in flashes), flashes
    assert _case(api, second)["status"] == "merged" and _case(api, first)["citizens"] == 2


def test_duplicate_suggestions_only_name_visible_cases(api, web) -> None:
    theirs = _submit(api, "grid2", DOGS)["case_no"]
    # the web live suggestion
    offer = web["grid1"].suggest(DOGS).text
    assert theirs not in offer
    assert theirs in web["operator"].suggest(DOGS).text  # the operator reads every case
    # POST /api/v1/triage
    found = api.post("grid1", "/api/v1/triage", json={"text": DOGS}).json()["duplicates"]
    assert theirs not in [d["case_id"] for d in found]
    found = api.post("operator", "/api/v1/triage", json={"text": DOGS}).json()["duplicates"]
    assert theirs in [d["case_id"] for d in found]
    # POST /api/v1/cases and the case read back: the stored candidates stay for the reviewer
    mine = _submit(api, "grid1", DOGS)
    assert theirs not in [d["case_no"] for d in mine["duplicate_candidates"]]
    again = api.get("grid1", f"/api/v1/cases/{mine['case_no']}").json()
    assert theirs not in [d["case_no"] for d in again["duplicate_candidates"]]
    listed = api.get("grid1", "/api/v1/cases", params={"limit": 200}).json()["items"]
    assert all(theirs not in [d["case_no"] for d in c["duplicate_candidates"]] for c in listed)
    assert theirs in [d["case_no"] for d in _case(api, mine["case_no"])["duplicate_candidates"]]
    # the case page and Open311's status notes
    assert theirs not in web["grid1"].get(f"/cases/{mine['case_no']}").text
    assert theirs in web["reviewer"].get(f"/cases/{mine['case_no']}").text
    notes = api.get("grid1", f"/open311/v2/requests/{mine['case_no']}.json").json()[0]["status_notes"]
    assert theirs not in (notes or "")
    notes = api.get("operator", f"/open311/v2/requests/{mine['case_no']}.json").json()[0]["status_notes"]
    assert theirs in notes


# -- finding 8: one visibility rule for lists and detail -------------------------------------------
def test_department_lists_only_cases_it_can_open(api) -> None:
    """A case only *suggested* for housing is not in housing's 问题清单 (it could not open it);
    once the reviewer dispatches it there, list and detail both admit it."""
    no = _submit(api, "operator", LEAK)["case_no"]
    assert _case(api, no)["suggestion"]["department_code"] == "housing"  # precondition of the test
    assert api.get("dept_housing", f"/api/v1/cases/{no}").status_code == 403

    def listed() -> set[str]:
        r = api.get("dept_housing", "/api/v1/lists/problems", params={"limit": 500})
        assert r.status_code == 200, r.text
        return {row["case_no"] for row in r.json()["items"]}

    assert no not in listed()
    assert all(api.get("dept_housing", f"/api/v1/cases/{n}").status_code == 200 for n in listed())
    dept = WebUser(api.app, "dept_housing")
    assert no not in dept.get("/grids?view=problems").text
    version = _case(api, no)["version"]
    body = {"action": "correct", "department_code": "housing", "version": version}
    assert api.post("reviewer", f"/api/v1/cases/{no}/review", json=body).status_code == 200
    assert no in listed() and api.get("dept_housing", f"/api/v1/cases/{no}").status_code == 200
    assert no in dept.get("/grids?view=problems").text


def test_sql_scope_and_case_rule_agree(api) -> None:
    """``scope_conditions`` (lists, search, suggestions) and ``can_see`` (detail) admit the same cases."""
    db = api.app.state.db
    with db.session() as session:
        cases = list(session.exec(select(Case).limit(500)))
    users = [
        Principal(1, "grid1", "grid_worker", None, ("G001",)),
        Principal(2, "grid2", "grid_worker", None, ("G002",)),
        Principal(3, "deputy", "deputy", None, ("G001",)),
        Principal(4, "dept_housing", "department", "housing", ()),
        Principal(5, "nobody", "department", None, ()),
        Principal(6, "operator", "operator", None, ()),
    ]
    for user in users:
        by_sql = access.visible_case_nos(db, user, [c.case_no for c in cases])
        by_rule = {c.case_no for c in cases if access.can_see(user, c)}
        assert by_sql == by_rule, user.username


# -- finding 8: which sources and grids each role may submit as/into ------------------------------
@pytest.mark.parametrize(
    ("who", "extra", "field"),
    [
        ("grid1", {"grid": "G002"}, "grid"),
        ("deputy", {"grid": "G002"}, "grid"),
        ("grid1", {"source": "hotline"}, "source"),
        ("grid1", {"source": "open311"}, "source"),
        ("operator", {"source": "grid"}, "source"),
        ("deputy", {"source": "web"}, "source"),
        ("reviewer", {"source": "open311"}, "source"),
        ("admin", {"source": "batch"}, "source"),
    ],
)
def test_api_refuses_what_the_web_form_refuses(api, web, who, extra, field) -> None:
    before = api.count_cases()
    r = api.post(who, "/api/v1/cases", json={"text": TRASH, **extra})
    assert r.status_code == 403, r.text
    assert r.json()["error"]["code"] == "forbidden" and r.json()["error"]["field"] == field
    if who in web:
        page = web[who].post("/intake", {"text": TRASH, **extra})
        assert page.status_code == 422 and "error" in field_block(page.text, field)
    assert api.count_cases() == before


@pytest.mark.parametrize(
    ("who", "extra", "source", "grid"),
    [
        ("grid1", {}, "grid", "G001"),
        ("grid1", {"grid": "G001", "source": "grid"}, "grid", "G001"),
        ("deputy", {}, "deputy", "G001"),
        ("operator", {"grid": "G002"}, "hotline", "G002"),
        ("reviewer", {"source": "hotline"}, "hotline", None),
    ],
)
def test_allowed_submissions_are_stored_as_asked(api, who, extra, source, grid) -> None:
    case = _submit(api, who, TRASH + "已经反映过好几次了。", **extra)
    assert case["source"] == source and case["grid_code"] == grid
