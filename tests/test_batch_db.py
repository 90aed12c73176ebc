"""Database batch jobs on SQLite and PostgreSQL: idempotent import of historical records,
reclassify that never touches human decisions (and flags disagreements), resume, the change
report and the background job runner."""

from __future__ import annotations

import csv
import logging
import re
from pathlib import Path

import pytest
from sqlmodel import func, select

from triage.batch import RUNNERS
from triage.batch.importer import ImportOptions, run_import
from triage.batch.jobs import JobRunner, get_job
from triage.batch.reclassify import ReclassifyOptions, run_reclassify
from triage.batch.report import build_change_report, flagged_for_rereview
from triage.result import TriageResult
from triage.store.models import AuditEvent, Case, CaseImport, CaseSuggestion

STAIRS = "三单元楼道堆满纸箱和旧家具，消防通道被堵住，请物业尽快清理。"
HISTORY = [
    # id, title, body, time, label, state
    ("h1", "楼道堵塞", STAIRS, "2024/3/1 10:00:00", "城乡建设", "已办结"),
    (
        "h2",
        "路灯坏了",
        "东门外的路灯已经坏了一个多月，晚上出行很不安全。",
        "2024-03-02",
        "城乡建设",
        "已回访",
    ),
    ("h3", "楼道堵塞", STAIRS, "2024/3/3 9:00", "城乡建设", "已办结"),
    ("h4", "空白", "", "2024/3/4", "", ""),
    (
        "h5",
        "楼道又堵了",
        "三单元楼道堆满了纸箱和旧家具，消防通道被堵住了，请物业尽快清理！",
        "2024/3/5",
        "",
        "",
    ),
    ("h6", "工资拖欠", "单位拖欠工资三个月，请劳动监察部门帮忙维权。", "不是时间", "劳动和社会保障", ""),
    ("h7", "入学咨询", "孩子今年九月上小学，请问能否就近入学？", "2024/3/7", "教育文体", "状态不明"),
]


def write_history(path: Path) -> Path:
    with path.open("w", encoding="gbk", newline="") as f:
        out = csv.writer(f)
        out.writerow(["编号", "标题", "内容", "时间", "类别", "状态"])
        out.writerows(HISTORY)
    return path


def import_options(path: Path, db, tmp: Path, **kw) -> ImportOptions:
    defaults = dict(
        text_cols=["内容"], title_col="标题", id_col="编号", time_col="时间", label_col="类别",
        status_col="状态", database=db, errors=tmp / "import.errors.csv", chunk_size=3,
    )  # fmt: skip
    return ImportOptions(input=path, **(defaults | kw))


def count(db, model) -> int:
    with db.session() as s:
        return s.exec(select(func.count()).select_from(model)).one()


def test_import_is_idempotent_and_keeps_history(store_db, tmp_path: Path) -> None:
    path = write_history(tmp_path / "hist.csv")
    first = run_import(import_options(path, store_db, tmp_path))
    assert (first.rows_read, first.rows_written, first.rows_failed) == (7, 3, 3)
    assert first.details["exact duplicates skipped"] == 1
    with (tmp_path / "import.errors.csv").open(encoding="utf-8-sig") as f:
        errors = {e["id"]: e["error_code"] for e in csv.DictReader(f)}
    assert errors == {"h4": "empty_text", "h6": "bad_time", "h7": "bad_status"}
    with store_db.session() as s:
        cases = {c.title: c for c in s.exec(select(Case))}
        refs = {i.source_ref: i for i in s.exec(select(CaseImport))}
        events = s.exec(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "import")
        ).one()
    assert set(cases) == {"楼道堵塞", "路灯坏了", "楼道又堵了"} and events == 3
    done = cases["楼道堵塞"]
    assert done.status == "resolved" and done.category == "城乡建设" and done.reviewed_at is not None
    assert done.case_no.startswith("20240301") and done.created_at.isoformat().startswith("2024-03-01T02:00")
    assert done.suggested_category and done.model_version  # the model's suggestion kept apart
    assert cases["路灯坏了"].status == "closed"
    fresh = cases["楼道又堵了"]
    assert fresh.status == "pending_review" and fresh.category is None and fresh.reviewed_at is None
    assert fresh.duplicate_candidates[0]["case_no"] == done.case_no  # near-duplicate within the file
    assert refs["hist:h3"].duplicate_of == "hist:h1" and refs["hist:h3"].case_no == done.case_no

    again = run_import(import_options(path, store_db, tmp_path))
    assert again.rows_written == 0 and again.details["already imported"] == 4
    assert count(store_db, Case) == 3 and count(store_db, CaseImport) == 4


def test_import_resume_after_interrupt(store_db, tmp_path: Path) -> None:
    path = write_history(tmp_path / "hist.csv")

    def stop(progress) -> None:
        if progress.rows_read >= 3:
            raise KeyboardInterrupt

    opts = import_options(path, store_db, tmp_path, chunk_size=1, progress_every=0)
    first = run_import(opts, stop)
    assert first.interrupted and 3 <= first.rows_read < 7
    assert get_job(store_db, first.details["job_id"]).status == "interrupted"
    second = run_import(import_options(path, store_db, tmp_path, chunk_size=1, resume=True))
    assert second.details["job_id"] == first.details["job_id"] and second.rows_read == 7
    assert count(store_db, Case) == 3 and count(store_db, CaseImport) == 4
    with (tmp_path / "import.errors.csv").open(encoding="utf-8-sig") as f:
        assert sorted(e["id"] for e in csv.DictReader(f)) == ["h4", "h6", "h7"]  # each bad row once


def test_jobs_log_start_and_end_with_counts(store_db, tmp_path: Path, caplog) -> None:
    """The job's records say what it did; library code logs and never prints."""
    caplog.set_level(logging.INFO, logger="triage.batch")
    path = write_history(tmp_path / "hist.csv")

    def stop(progress) -> None:
        if progress.rows_read >= 3:
            raise KeyboardInterrupt

    first = run_import(import_options(path, store_db, tmp_path, chunk_size=1, progress_every=0), stop)
    run_import(import_options(path, store_db, tmp_path, chunk_size=1, resume=True))
    job = first.details["job_id"]
    lines = [r.getMessage() for r in caplog.records if r.name == "triage.batch.jobs"]
    assert [line.split(":")[0] for line in lines] == [
        f"import job {job} started by import",
        f"import job {job} interrupted",
        f"import job {job} resumed by import (was interrupted)",
        f"import job {job} done",
    ]
    assert re.fullmatch(rf"import job {job} done: 7 rows read, 3 written, 3 failed in [0-9.]+ s", lines[-1])
    assert all(r.levelno == logging.INFO for r in caplog.records if r.name == "triage.batch.jobs")


class Shifted:
    """A 'new model' for tests: the real engine, but its second choice becomes the suggestion."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.model_version = f"{inner.model_version}-shifted"
        self.stage_names: list[str] = []

    def triage_many(self, texts, skip_invalid: bool = False):
        out = self.inner.triage_many(texts, skip_invalid=skip_invalid)
        for r in out:
            if isinstance(r, TriageResult) and len(r.top_k) > 1:
                r.category = r.model_category = r.top_k[1].label
                r.confidence = r.top_k[1].probability
                r.model_version = self.model_version
        return out


def shifted_triager(model_path=None, routing_path=None) -> Shifted:
    from triage.batch.worker import ModelSpec, get_triager

    return Shifted(get_triager(ModelSpec(model_path, routing_path)))


SHIFTED = f"{__name__}:shifted_triager"


@pytest.fixture
def four_cases(case_service):
    """accepted (decision = old suggestion), corrected to the old second choice, pending, pending+leased."""
    texts = [
        ("楼道堵塞", "小区三单元楼道堆满纸箱和旧家具，消防通道被堵住，存在火灾隐患，请物业尽快清理。"),
        ("烧烤扰民", "楼下烧烤店每天营业到凌晨两点，油烟和噪音严重扰民，根本无法休息。"),
        ("井盖丢失", "人行道上的井盖丢失了，已经有老人差点掉进去，请相关部门马上处理。"),
        ("拖欠工资", "单位拖欠工资三个月，多次讨要无果，请劳动监察部门帮忙维权。"),
    ]
    cases = [case_service.submit(body, title=title) for title, body in texts]
    accepted = case_service.accept(cases[0].case_no, "reviewer1")
    second = cases[1].top_k[1]["label"]
    corrected = case_service.correct(cases[1].case_no, "reviewer1", category=second)
    leased = case_service.claim(cases[3].case_no, "reviewer2")
    return {"accepted": accepted, "corrected": corrected, "pending": cases[2], "leased": leased}


def snapshot(db, case_no: str) -> dict:
    with db.session() as s:
        case = s.exec(select(Case).where(Case.case_no == case_no)).one()
        return case.model_dump()


DECISION = (
    "category",
    "subcategory",
    "department_code",
    "department",
    "level",
    "status",
    "reviewed_by",
    "corrected",
)


def test_reclassify_never_touches_human_decisions(store_db, four_cases, tmp_path: Path) -> None:
    before = {k: snapshot(store_db, c.case_no) for k, c in four_cases.items()}
    summary = run_reclassify(ReclassifyOptions(database=store_db, triager_factory=SHIFTED, chunk_size=3))
    assert summary.rows_read == 4 and summary.rows_failed == 0
    assert summary.details["applied"] == 1 and summary.details["flagged"] == 1
    after = {k: snapshot(store_db, c.case_no) for k, c in four_cases.items()}
    for key in ("accepted", "corrected"):  # reviewed: nothing at all changes on the case row
        assert after[key] == before[key]
    assert after["leased"] == before["leased"]  # a reviewer is looking at it: left alone
    pending_before, pending_after = before["pending"], after["pending"]
    assert pending_after["suggested_category"] == pending_before["top_k"][1]["label"]
    assert pending_after["model_version"].endswith("-shifted") and pending_after["category"] is None
    assert all(pending_after[k] == pending_before[k] for k in DECISION)

    with store_db.session() as s:
        rows = {r.case_no: r for r in s.exec(select(CaseSuggestion))}
        flags = s.exec(select(AuditEvent).where(AuditEvent.action == "flag_rereview")).all()
        reclass = s.exec(select(AuditEvent).where(AuditEvent.action == "reclassify")).all()
    assert len(rows) == 4 and {e.case_no for e in reclass} == {four_cases["pending"].case_no}
    acc = rows[four_cases["accepted"].case_no]
    assert acc.flagged and acc.changed and acc.decision_category == before["accepted"]["category"]
    assert acc.previous_category == before["accepted"]["suggested_category"] and not acc.applied
    assert acc.previous_model_version == before["accepted"]["model_version"] != acc.model_version
    cor = rows[four_cases["corrected"].case_no]
    assert not cor.flagged and cor.category == before["corrected"]["category"]  # model now agrees
    assert [e.case_no for e in flags] == [four_cases["accepted"].case_no]

    assert [s.case_no for s in flagged_for_rereview(store_db)] == [four_cases["accepted"].case_no]
    report = build_change_report(
        store_db, tmp_path / "report.html", link_base="https://triage.example/cases/"
    )
    assert report.total == 4 and report.changed == 4 and report.flagged == 1
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert f'href="https://triage.example/cases/{four_cases["accepted"].case_no}"' in html
    assert "data:image/png;base64," in html and not re.search(r"<(script|link)[^>]+(src|href)=", html)
    with (tmp_path / "report.csv").open(encoding="utf-8-sig") as f:
        changed = list(csv.DictReader(f))
    assert len(changed) == 4 and {c["flagged"] for c in changed} == {"True", "False"}


def test_reclassify_filters_and_resume(store_db, four_cases) -> None:
    def stop(progress) -> None:
        if progress.rows_read >= 1:
            raise KeyboardInterrupt

    opts = dict(
        database=store_db,
        triager_factory=SHIFTED,
        chunk_size=1,
        statuses=["pending_review"],
        progress_every=0,
    )
    first = run_reclassify(ReclassifyOptions(**opts), stop)
    assert first.interrupted and first.rows_read == 1
    second = run_reclassify(ReclassifyOptions(**opts, resume=True))
    assert second.details["job_id"] == first.details["job_id"] and second.rows_read == 2  # pending + leased
    with store_db.session() as s:
        rows = s.exec(select(CaseSuggestion.case_no)).all()
    assert sorted(rows) == sorted([four_cases["pending"].case_no, four_cases["leased"].case_no])
    with pytest.raises(Exception, match="unknown status"):
        run_reclassify(ReclassifyOptions(database=store_db, statuses=["done"]))


def test_job_runner_reports_progress_and_summary(store_db, four_cases) -> None:
    runner = JobRunner(RUNNERS)
    job_id = runner.start("reclassify", ReclassifyOptions(database=store_db, chunk_size=2))
    state = runner.wait(job_id, timeout=120)
    assert state["status"] == "done", state
    assert state["summary"]["rows_read"] == 4 and state["progress"]["rows_read"] == 4
    job = get_job(store_db, job_id)
    assert job.status == "done" and job.summary["rows_read"] == 4 and job.progress["fraction"] == 1.0
    assert runner.status("nope") is None
