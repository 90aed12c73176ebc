"""Finding 1: spreadsheet formula injection. Every CSV/XLSX the project writes shows a citizen's
``=…``/``+…``/``-…``/``@…``/tab/CR text as typed, never as a live formula (read back with openpyxl)."""

from __future__ import annotations

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook
from support.api_env import ApiEnv
from test_web_support import WebUser

from api.web.lists import COLUMNS, build_xlsx
from triage.tabular.cells import csv_escape, csv_unescape
from triage.tabular.files import TabularReader, TabularWriter

PAYLOADS = [
    '=HYPERLINK("http://evil.example/x","点击查看")',
    "=cmd|' /C calc'!A0",
    "+SUM(1,2)请尽快处理",
    "-2+3 已处理完毕",
    "@SUM(A1) 满意",
    "\t=1+1 楼道灯坏了",
    "'=1+1 引号开头",
]


def _cells(content: bytes) -> list[list]:
    """Every cell of the first sheet (a normal workbook, so data_type and style are read)."""
    return [list(row) for row in load_workbook(io.BytesIO(content)).active.iter_rows()]


def _assert_no_formula(rows: list[list]) -> None:
    formulas = [(c.coordinate, c.value) for row in rows for c in row if c.data_type == "f"]
    assert not formulas, formulas


@pytest.mark.parametrize("kind", list(COLUMNS))
def test_build_xlsx_writes_formula_like_text_as_text(kind: str) -> None:
    keys = [k for k, _ in COLUMNS[kind]]
    texts = ["title", "text", "address", "requirement", "result", "feedback"]
    rows = [
        {k: (p if k in texts else None) for k in keys} | {"case_no": f"N{i}"} for i, p in enumerate(PAYLOADS)
    ]
    cells = _cells(build_xlsx(kind, rows))
    _assert_no_formula(cells)
    for row, payload in zip(cells[1:], PAYLOADS, strict=True):
        for cell, key in zip(row, keys, strict=True):
            if key in texts:
                assert cell.value == payload and cell.data_type == "s"
                assert cell.quotePrefix == (payload[0] in "=+-@\t")  # Excel keeps it text when edited


def test_carriage_return_lead_is_text_too() -> None:
    row = {"case_no": "N1", "title": "\r=1+1"}
    cell = _cells(build_xlsx("assignments", [row]))[1][1]
    assert cell.data_type == "s" and cell.quotePrefix
    assert cell.value.lstrip("\r\n") == "=1+1"  # XML turns a bare CR into LF on reading


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_csv_writer_escapes_per_owasp_and_reader_restores_exactly(tmp_path, fmt: str) -> None:
    path = tmp_path / f"out.{fmt}"
    with TabularWriter(path, ["id", "text"]) as out:
        for i, p in enumerate(PAYLOADS):
            out.write({"id": i, "text": p})
        out.write({"id": -5, "text": "普通文本"})  # numbers are not text: never prefixed
    raw = path.read_text(encoding="utf-8")
    sep = "\t" if fmt == "tsv" else ","
    for p in PAYLOADS:
        assert ("'" + p).replace('"', '""') in raw or "'" + p in raw  # one apostrophe in front
    assert f"\n-5{sep}普通文本" in raw.replace("\r\n", "\n")
    with TabularReader(path) as reader:
        back = [r.values["text"] for r in reader]
    assert back == [*PAYLOADS, "普通文本"]


def test_xlsx_writer_never_writes_a_formula(tmp_path) -> None:
    path = tmp_path / "out.xlsx"
    with TabularWriter(path, ["text"]) as out:
        for p in PAYLOADS:
            out.write({"text": p})
    cells = _cells(path.read_bytes())
    _assert_no_formula(cells)
    assert [r[0].value for r in cells[1:]] == PAYLOADS


@given(st.text(alphabet="'=+-@\t\rab楼", max_size=8))
def test_csv_escape_round_trips_every_value(value: str) -> None:
    escaped = csv_escape(value)
    assert not escaped.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert csv_unescape(escaped) == value


# ---- the web exports of the three lists, with the cases driven through the API ------------------------
@pytest.fixture(scope="module")
def hostile_case(api_env: ApiEnv) -> dict[str, str]:
    """A case whose every typed field starts like a formula, taken through to closed."""
    api = api_env
    fields = {
        "title": "=cmd|' /C calc'!A0",
        "text": '=HYPERLINK("http://evil.example/x","点击")新华村二组下水道堵了一个星期，污水倒灌',
        "address": "=1+1 新华村二组",
        "requirement": "+SUM(1,2)请三日内疏通",
        "result": "-2+3 管道已疏通",
        "comment": "@SUM(A1) 很满意",
    }
    r = api.post(
        "grid1",
        "/api/v1/cases",
        json={"text": fields["text"], "title": fields["title"], "address": fields["address"]},
    )
    assert r.status_code == 201, r.text
    no = r.json()["case_no"]
    review = {"action": "correct", "department_code": "housing", "requirement": fields["requirement"]}
    assert api.post("reviewer", f"/api/v1/cases/{no}/review", json=review).status_code == 200
    start = api.post("dept_housing", f"/api/v1/cases/{no}/transition", json={"to": "in_progress"})
    assert start.status_code == 200, start.text
    done = {"to": "resolved", "result": fields["result"]}
    assert api.post("dept_housing", f"/api/v1/cases/{no}/transition", json=done).status_code == 200
    fb = {"satisfaction": 4, "comment": fields["comment"]}
    assert api.post("grid1", f"/api/v1/cases/{no}/feedback", json=fb).status_code == 200
    return fields | {"case_no": no}


@pytest.mark.parametrize(
    ("kind", "shown"),
    [
        ("problems", {"标题": "title", "诉求内容": "text", "地址": "address"}),
        ("assignments", {"标题": "title", "办理要求": "requirement"}),
        ("completions", {"标题": "title", "办理结果": "result", "回访意见": "comment"}),
    ],
)
def test_web_list_exports_show_formula_text_as_typed(api_env, hostile_case, kind, shown) -> None:
    r = WebUser(api_env.app, "admin").get(f"/grids/export/{kind}.xlsx")
    assert r.status_code == 200
    cells = _cells(r.content)
    _assert_no_formula(cells)
    header = [c.value for c in cells[0]]
    row = next(row for row in cells[1:] if row[0].value == hostile_case["case_no"])
    for title, field in shown.items():
        cell = row[header.index(title)]
        assert cell.value == hostile_case[field] and cell.data_type == "s", (title, cell.value)
