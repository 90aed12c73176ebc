"""GET /api/v1/cases?q= and ?phone= (issue #13) on SQLite and PostgreSQL: found, scoped, never leaking."""

from __future__ import annotations

import pytest
from support.api_env import ELEVATOR, NOISE, WAGES, ApiEnv

PHONE_A, PHONE_B = "13912345678", "13787654321"


@pytest.fixture(scope="module")
def api(api_env):
    return api_env


@pytest.fixture(scope="module")
def cases(api: ApiEnv) -> dict[str, str]:
    out = {}
    for key, text, phone, address, dept in (
        ("elevator", ELEVATOR, PHONE_A, "锦绣花园7栋", "housing"),
        ("noise", NOISE, PHONE_B, "滨江路88号", "transport"),
        ("wages", WAGES, None, "河西街道", None),
    ):
        body = {"text": text, "address": address} | ({"reporter_phone": phone} if phone else {})
        r = api.post("operator", "/api/v1/cases", json=body)
        assert r.status_code == 201, r.text
        no = out[key] = r.json()["case_no"]
        if dept:
            fix = {"action": "correct", "department_code": dept}
            assert api.post("reviewer", f"/api/v1/cases/{no}/review", json=fix).status_code == 200
    return out


def _nos(api: ApiEnv, who: str, **params: str) -> list[str]:
    r = api.get(who, "/api/v1/cases", params=params)
    assert r.status_code == 200, r.text
    return [c["case_no"] for c in r.json()["items"]]


def test_q_finds_words_addresses_and_numbers(api: ApiEnv, cases: dict[str, str]) -> None:
    assert _nos(api, "admin", q="电梯") == [cases["elevator"]]
    assert _nos(api, "admin", q="烧烤 噪音") == [cases["noise"]]
    assert _nos(api, "admin", q="锦绣花园") == [cases["elevator"]]
    assert _nos(api, "admin", q=cases["wages"]) == [cases["wages"]]
    assert _nos(api, "admin", q="火星基地") == []


def test_phone_is_exact_and_shown_masked(api: ApiEnv, cases: dict[str, str]) -> None:
    r = api.get("operator", "/api/v1/cases", params={"phone": "139-1234-5678"})
    assert [c["case_no"] for c in r.json()["items"]] == [cases["elevator"]]
    assert PHONE_A not in r.text and PHONE_B not in r.text  # masked like everywhere
    assert _nos(api, "operator", phone=PHONE_A[:-1]) == []  # no prefix matching
    assert _nos(api, "operator", phone="13900000000") == []


def test_search_is_scoped(api: ApiEnv, cases: dict[str, str]) -> None:
    assert _nos(api, "dept_housing", q="电梯") == [cases["elevator"]]
    assert _nos(api, "dept_other", q="电梯") == []  # another department's case
    assert _nos(api, "dept_other", phone=PHONE_A) == []  # phone search never crosses the scope
    assert _nos(api, "dept_other", q=cases["elevator"]) == []
    assert _nos(api, "grid1", q="电梯") == []  # not in the grid, not submitted by grid1


@pytest.mark.parametrize(
    ("params", "field"),
    [({"q": "词" * 101}, "q"), ({"q": "，，！"}, "q"), ({"q": " "}, "q"), ({"phone": "abc"}, "phone"),
     ({"phone": "1" * 65}, "phone"), ({"priority": "soon"}, "priority"), ({"source": "fax"}, "source")],
)  # fmt: skip
def test_bad_search_params_name_the_field(api: ApiEnv, params: dict[str, str], field: str) -> None:
    r = api.get("admin", "/api/v1/cases", params=params)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == field
