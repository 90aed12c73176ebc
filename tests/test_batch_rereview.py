"""The re-review loop on SQLite and PostgreSQL: a reclassify run flags reviewed cases the model now
disputes; reviewers list the open flags (scoped like other case lists) and answer each one by
keeping the decision or taking the new category, each answer audited in its own transaction."""

from __future__ import annotations

import pytest
from sqlmodel import select
from test_batch_db import SHIFTED  # the "new model" used by the reclassify tests

from triage.batch.reclassify import ReclassifyOptions, run_reclassify
from triage.errors import InputError
from triage.store.errors import CaseNotFoundError, LeaseError, ValidationError
from triage.store.models import AuditEvent, Case, CaseSuggestion
from triage.store.rereview import NotFlaggedError, RereviewActionError, count_open_flags, open_flags
from triage.store.search import CaseScope


def reclassify(db) -> str:
    return run_reclassify(ReclassifyOptions(database=db, triager_factory=SHIFTED)).details["job_id"]


@pytest.fixture
def flagged(case_service):
    """dispatched (accepted), returned to review by its department, and never reviewed."""
    texts = [
        ("楼道堵塞", "三单元楼道堆满纸箱和旧家具，消防通道被堵住，存在火灾隐患，请物业清理。", "G001"),
        ("烧烤扰民", "楼下烧烤店每天营业到凌晨两点，油烟和噪音严重扰民，根本无法休息。", "G002"),
        ("井盖丢失", "人行道上的井盖丢失了，已经有老人差点掉进去，请相关部门马上处理。", "G001"),
    ]
    cases = [case_service.submit(body, title=t, grid_code=g) for t, body, g in texts]
    dispatched = case_service.accept(cases[0].case_no, "reviewer1")
    case_service.accept(cases[1].case_no, "reviewer1")
    returned = case_service.return_case(cases[1].case_no, "dept1", "不属于本部门职责")
    return {"dispatched": dispatched, "returned": returned, "pending": cases[2]}


def events(db, case_no: str, action: str) -> list[AuditEvent]:
    with db.session() as s:
        stmt = select(AuditEvent).where(AuditEvent.case_no == case_no, AuditEvent.action == action)
        return list(s.exec(stmt))


def case_row(db, case_no: str) -> Case:
    with db.session() as s:
        return s.exec(select(Case).where(Case.case_no == case_no)).one()


def test_flag_list_dismiss_and_correct(store_db, case_service, flagged) -> None:
    job_id = reclassify(store_db)
    items = {i.case_no: i for i in open_flags(store_db)}
    d, r = flagged["dispatched"], flagged["returned"]
    assert set(items) == {d.case_no, r.case_no} and count_open_flags(store_db) == 2
    item = items[d.case_no]
    assert item.status == "dispatched" and item.decision_category == d.category
    assert item.suggested_category == d.top_k[1]["label"] != item.decision_category
    assert item.model_version.endswith("-shifted") and item.job_id == job_id and item.open_flags == 1
    assert item.flagged_at is not None and item.summary and item.version == d.version
    assert item.actions == ["dismiss"] and items[r.case_no].actions == ["dismiss", "correct"]

    # a dispatched case cannot take a category here: the error names what is allowed
    with pytest.raises(RereviewActionError) as info:
        case_service.rereview.correct(d.case_no, "reviewer2")
    assert info.value.allowed == ["dismiss"] and info.value.field == "action"
    assert "pending review" in info.value.message

    before = case_row(store_db, d.case_no)
    result = case_service.rereview.dismiss(d.case_no, "reviewer2", note="原分类正确")
    assert result.cleared == 1 and result.action == "dismiss"
    after = case_row(store_db, d.case_no)
    assert after.model_dump() == before.model_dump()  # keeping the decision touches nothing
    [event] = events(store_db, d.case_no, "rereview_dismiss")
    assert event.actor == "reviewer2" and event.note == "原分类正确"
    assert event.after["decision"] == d.category and event.after["jobs"] == [job_id]
    with pytest.raises(NotFlaggedError, match=r"cleared \(dismiss\) by reviewer2"):
        case_service.rereview.dismiss(d.case_no, "reviewer2")

    corrected = case_service.rereview.clear(r.case_no, "reviewer2", "correct").case
    assert corrected.status == "dispatched" and corrected.category == items[r.case_no].suggested_category
    assert corrected.reviewed_by == "reviewer2" and corrected.corrected
    assert events(store_db, r.case_no, "correct") and events(store_db, r.case_no, "rereview_correct")
    with store_db.session() as s:
        rows = {c.case_no: c for c in s.exec(select(CaseSuggestion).where(CaseSuggestion.flagged))}
    assert rows[r.case_no].cleared_action == "correct" and rows[r.case_no].cleared_by == "reviewer2"
    assert open_flags(store_db) == [] and count_open_flags(store_db) == 0
    with pytest.raises(NotFlaggedError):
        case_service.rereview.clear(r.case_no, "reviewer2", "correct")

    with pytest.raises(NotFlaggedError, match="is not flagged"):
        case_service.rereview.dismiss(flagged["pending"].case_no, "reviewer2")
    with pytest.raises(CaseNotFoundError):
        case_service.rereview.dismiss("19990101999", "reviewer2")
    with pytest.raises(ValidationError) as bad:
        case_service.rereview.clear(r.case_no, "reviewer2", "maybe")
    assert bad.value.code == "unknown_action" and bad.value.allowed == ["correct", "dismiss"]

    # the next run does not raise the dismissed flag again, and the corrected case now agrees
    reclassify(store_db)
    assert count_open_flags(store_db) == 0


def test_scope_filters_and_failed_correction(store_db, case_service, flagged) -> None:
    job_id = reclassify(store_db)
    d, r = flagged["dispatched"], flagged["returned"]
    assert [i.case_no for i in open_flags(store_db, scope=CaseScope(grids=("G001",)))] == [d.case_no]
    assert open_flags(store_db, scope=CaseScope(grids=())) == []
    mine = CaseScope(grids=(), submitted_by="system")  # cases they submitted count too
    assert count_open_flags(store_db, scope=mine) == 2
    dept = CaseScope(department_code=d.department_code)
    assert d.case_no in {i.case_no for i in open_flags(store_db, scope=dept)}
    assert open_flags(store_db, grid_code="G002")[0].case_no == r.case_no
    assert count_open_flags(store_db, job_id=job_id) == 2
    assert len(open_flags(store_db, limit=1)) == 1 and len(open_flags(store_db, limit=1, offset=1)) == 1
    with pytest.raises(InputError) as info:
        open_flags(store_db, job_id="nope")
    assert info.value.code == "no_job" and info.value.field == "job_id"

    # a correction that fails (another reviewer holds the case) leaves the flag open
    case_service.claim(r.case_no, "reviewer3")
    with pytest.raises(LeaseError):
        case_service.rereview.correct(r.case_no, "reviewer2")
    assert count_open_flags(store_db) == 2 and not events(store_db, r.case_no, "rereview_correct")
    with pytest.raises(ValidationError) as bad:
        case_service.rereview.correct(r.case_no, "reviewer3", category="不存在的分类")
    assert bad.value.code == "unknown_category" and count_open_flags(store_db) == 2
    done = case_service.rereview.correct(r.case_no, "reviewer3", category=r.category)
    assert done.case.category == r.category and done.case.status == "dispatched"  # kept, and re-dispatched
