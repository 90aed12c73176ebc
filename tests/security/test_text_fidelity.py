"""Citizens' words are kept as written (issue 10, findings 10 and 11).

What a person typed is stored as typed (only line breaks and control characters cleaned up,
Excel's ``_x000D_`` decoded for imports): full-width punctuation, emoji and HTML-looking text
survive the store, the API, the case page and the export/re-import round trip, on SQLite and
PostgreSQL. The model still reads the normalised copy it read before. A message without Chinese
becomes a case the model abstains on (a person routes it) instead of being refused.
"""

from __future__ import annotations

import io

import pytest
from sqlmodel import select
from test_web_support import WebUser

from api.web.lists import build_xlsx
from triage.batch.importer import ImportOptions, run_import
from triage.store.models import Case, Feedback
from triage.tabular.files import TabularReader, TabularWriter
from triage.text.intake import clean_text, normalize_text

# Hand-written; each line carries something the old intake changed.
TYPED = (
    "尊敬的领导，您好！<b>楼道</b>里堆满杂物，消防通道被堵。\n"
    "&lt;img src=x onerror=alert(1)&gt; 请尽快处理～😀👨\u200d👩\u200d👧（急！）"
)
TITLE = "楼道堆物（第２次反映）！"
ADDRESS = "幸福路１２号＜３栋＞"
REQUIREMENT = "请于３日内清理，并回复群众！"
RESULT = "已清理完毕，消防通道恢复畅通！<已电话回复>"
COMMENT = "满意，谢谢！👍"
FOREIGN = "Hello, the street light outside No. 5 is broken. Please fix it!"
EMOJI_ONLY = "👍👍🙏"


def _old_model_input(title: str, text: str) -> str:
    """What the classifier read before this change: each part normalised, then joined."""
    return f"{normalize_text(title)}\n{normalize_text(text)}"


# -- the store (both databases) ---------------------------------------------------------------
def test_case_text_title_and_handling_texts_are_stored_as_typed(case_service) -> None:
    svc = case_service
    case = svc.submit(TYPED + "\r\n\x07", title=TITLE, address=ADDRESS, reporter_name="张　三")
    stored = svc.get(case.case_no)
    assert (stored.text, stored.title, stored.address) == (TYPED, TITLE, ADDRESS)
    assert stored.reporter_name == "张　三" and stored.text_masked == TYPED
    # the model read the normalised copy, exactly as before
    before = svc.triager.triage(_old_model_input(TITLE, TYPED))
    assert stored.suggested_category == before.category and stored.confidence == before.confidence
    assert stored.top_k == [{"label": s.label, "probability": s.probability} for s in before.top_k]

    svc.accept(case.case_no, "rev", requirement=REQUIREMENT)
    svc.start(case.case_no, "dept")
    svc.resolve(case.case_no, "dept", RESULT)
    svc.feedback(case.case_no, "op", 5, COMMENT)
    with svc.db.session() as session:
        row = session.get(Case, stored.id)
        feedback = session.exec(select(Feedback).where(Feedback.case_id == stored.id)).one()
        assert (row.requirement, row.result, feedback.comment) == (REQUIREMENT, RESULT, COMMENT)
    # the 办结清单 export shows the department's result as written
    data = build_xlsx("completions", svc.completion_list())
    rows = _read_xlsx(data)
    mine = next(r for r in rows if r["案件编号"] == case.case_no)
    assert (mine["标题"], mine["办理结果"], mine["回访意见"]) == (TITLE, RESULT, COMMENT)


def test_text_without_chinese_becomes_a_case_for_manual_routing(case_service) -> None:
    svc = case_service
    for typed in (FOREIGN, EMOJI_ONLY):
        case = svc.get(svc.submit(typed).case_no)
        assert case.text == typed and case.status == "pending_review"
        assert case.suggested_category is None and case.suggested_department_code is None
        assert case.needs_review and case.confidence == 0.0 and case.top_k == []
        assert case.route_reason["source"] == "abstain"
        assert case.route_reason["message"] == "无中文内容，需人工分拨"
    assert {c.text for c in svc.queue()} >= {FOREIGN, EMOJI_ONLY}  # a reviewer sees them


# -- import → export → re-import (both databases) --------------------------------------------
def _read_xlsx(data: bytes) -> list[dict[str, str]]:
    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(data), read_only=True).active
    rows = list(ws.iter_rows(values_only=True))
    return [{h: ("" if v is None else str(v)) for h, v in zip(rows[0], r, strict=True)} for r in rows[1:]]


NOISY = "楼下烧烤店营业到凌晨２点，噪音很大！！<急>🙏\n已投诉３次。"
HISTORY = [
    ("r1", TITLE, TYPED, "城乡建设", RESULT),
    ("r2", "噪音扰民（夜间）", NOISY, "环境保护", "已责令整改。"),
]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_import_export_reimport_round_trip_keeps_every_character(store_db, tmp_path, fmt: str) -> None:
    path = tmp_path / f"history.{fmt}"
    rows = HISTORY
    if fmt == "xlsx":  # what Excel writes for a line break inside a cell
        rows = [(i, t, body.replace("\n", "_x000D_\n"), label, res) for i, t, body, label, res in HISTORY]
    with TabularWriter(path, ["编号", "标题", "内容", "类别", "办理结果"]) as out:
        for row in rows:
            out.write(dict(zip(["编号", "标题", "内容", "类别", "办理结果"], row, strict=True)))
    opts = dict(text_cols=["内容"], title_col="标题", id_col="编号", label_col="类别", result_col="办理结果")
    summary = run_import(
        ImportOptions(input=path, database=store_db, errors=tmp_path / "errors.csv", **opts)  # type: ignore[arg-type]
    )
    assert summary.rows_failed == 0
    with store_db.session() as session:
        stored = {c.title: c for c in session.exec(select(Case))}
    for _, title, body, _, result in HISTORY:
        assert (stored[title].text, stored[title].result) == (body, result)

    # export the 问题清单 as the web page does, then read it back the way an import reads it
    from triage.store import lists

    with store_db.session() as session:
        problems = lists.problem_list(session, lists.ListFilter())
    exported = tmp_path / "problems.xlsx"
    exported.write_bytes(build_xlsx("problems", problems))
    with TabularReader(exported) as reader:
        back = {clean_text(str(r.values["标题"]), ooxml=True): r.values for r in reader}
    for _, title, body, _, _ in HISTORY:
        assert clean_text(str(back[title]["诉求内容"]), ooxml=True) == body
    # re-importing the export finds the very same messages (exact duplicates, nothing new)
    again = run_import(
        ImportOptions(
            input=exported,
            text_cols=["诉求内容"],
            title_col="标题",
            id_col="案件编号",
            source_name="again",
            database=store_db,
            errors=tmp_path / "errors2.csv",
        )
    )
    assert again.rows_failed == 0 and again.details["exact duplicates skipped"] == len(HISTORY)


# -- the API and the pages escape on output (both databases) ----------------------------------
def test_api_returns_the_typed_text_and_pages_escape_it(api_env) -> None:
    r = api_env.post("operator", "/api/v1/cases", json={"text": TYPED, "title": TITLE, "address": ADDRESS})
    assert r.status_code == 201, r.text
    no = r.json()["case_no"]
    got = api_env.get("operator", f"/api/v1/cases/{no}").json()
    assert (got["text"], got["title"], got["address"]) == (TYPED, TITLE, ADDRESS)
    assert "&lt;img" in got["text"] and "<img" not in got["text"]  # never decoded into a live tag
    hint = api_env.post("operator", "/api/v1/triage", json={"text": TYPED}).json()
    assert hint["masked_text"] == TYPED and hint["category"]

    page = WebUser(api_env.app, "operator").get(f"/cases/{no}").text
    assert "&lt;b&gt;楼道&lt;/b&gt;" in page and "<b>楼道</b>" not in page
    assert "&amp;lt;img src=x" in page and "<img src=x" not in page
    assert "尊敬的领导，您好！" in page and "😀" in page


def test_api_and_web_form_accept_text_without_chinese(api_env) -> None:
    r = api_env.post("operator", "/api/v1/cases", json={"text": FOREIGN})
    assert r.status_code == 201, r.text
    suggestion = r.json()["suggestion"]
    assert suggestion["category"] is None and suggestion["needs_review"]
    assert suggestion["route_reason"]["message"] == "无中文内容，需人工分拨"
    hint = api_env.post("operator", "/api/v1/triage", json={"text": EMOJI_ONLY})
    assert hint.status_code == 200 and hint.json()["category"] == "" and hint.json()["needs_review"]
    blank = api_env.post("operator", "/api/v1/cases", json={"text": " \n\t\u3000 "})
    assert blank.status_code == 422 and blank.json()["error"]["code"] == "empty_text"

    web = WebUser(api_env.app, "operator")
    r = web.post("/intake", {"text": EMOJI_ONLY})
    assert r.status_code == 303, r.text[:2000]
    page = web.follow(r).text
    assert EMOJI_ONLY in page and "无中文内容，需人工分拨" in page
    assert "无中文内容，需人工分拨" in web.suggest(FOREIGN).text
