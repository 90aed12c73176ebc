"""Issue #13 item 10: batch jobs and the CLI leave no files in the working directory unless asked,
the progress bar moves from the first rows on, and the reclassify report is in Chinese with links
that work from a file opened anywhere."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import typer
from test_batch_classify import options, sample_rows, write_csv
from test_batch_db import SHIFTED, import_options, write_history
from typer.testing import CliRunner

from triage.batch.classify import run_classify
from triage.batch.importer import run_import
from triage.batch.progress import chunk_sizes, ramped_chunks
from triage.batch.reclassify import ReclassifyOptions, run_reclassify
from triage.batch.report import build_change_report


def test_chunks_start_small_then_stay_full() -> None:
    sizes = chunk_sizes(500)
    assert [next(sizes) for _ in range(9)] == [8, 16, 32, 64, 128, 256, 500, 500, 500]
    assert [len(c) for c in ramped_chunks(range(457), 500)] == [8, 16, 32, 64, 128, 209]
    assert [len(c) for c in ramped_chunks(range(5), 3)] == [3, 2]


def test_progress_moves_before_the_first_full_chunk(tmp_path: Path) -> None:
    inp = write_csv(tmp_path / "in.csv", sample_rows(120))
    seen: list[int] = []
    run_classify(
        options(inp, tmp_path / "out.csv", chunk_size=500, progress_every=0),
        lambda p: seen.append(p.rows_read),
    )
    assert len(set(seen)) >= 4 and min(r for r in seen if r) <= 8 and max(seen) == 120


def test_a_clean_run_leaves_no_empty_error_file(tmp_path: Path) -> None:
    inp = write_csv(tmp_path / "in.csv", sample_rows(5))
    summary = run_classify(options(inp, tmp_path / "out.csv"))
    assert "errors" not in summary.outputs and not (tmp_path / "out.errors.csv").exists()
    bad = write_csv(tmp_path / "bad.csv", [*sample_rows(3), ("m9", "", "")])
    failed = run_classify(options(bad, tmp_path / "bad-out.csv"))
    assert failed.rows_failed == 1 and Path(failed.outputs["errors"]).exists()


def test_cli_import_and_hot_issues_write_nothing_in_the_working_directory(
    store_db, tmp_path, monkeypatch
) -> None:
    from triage.batch.cli import register
    from triage.config import get_settings

    work, jobs = tmp_path / "cwd", tmp_path / "jobs"
    work.mkdir()
    history = write_history(tmp_path / "history.csv")
    monkeypatch.chdir(work)
    monkeypatch.setenv("TRIAGE_DATABASE_URL", store_db.url)
    monkeypatch.setenv("TRIAGE_JOBS_DIR", str(jobs))
    get_settings.cache_clear()
    app = typer.Typer()
    app.command("noop")(lambda: None)
    register(app)
    try:
        args = ["batch", "import", "-i", str(history), "--text-col", "内容", "--title-col", "标题",
                "--id-col", "编号", "--label-col", "类别", "--quiet"]  # fmt: skip
        res = CliRunner().invoke(app, args)
        assert res.exit_code in (0, 1), res.output
        hot = CliRunner().invoke(
            app, ["batch", "hot-issues", "-i", str(history), "--text-col", "内容", "--min-size", "1"]
        )
        assert hot.exit_code == 0, hot.output
        assert hot.stdout.splitlines()[0] == "rank\tsize\trecent\ttitle\tplace"
    finally:
        get_settings.cache_clear()
    assert os.listdir(work) == []
    errors = list(jobs.glob("*.import-errors.csv"))
    assert all(p.stat().st_size > 0 for p in errors)  # only written when a row failed


def test_import_with_no_bad_rows_leaves_no_error_file(store_db, tmp_path: Path) -> None:
    history = write_history(tmp_path / "history.csv")
    summary = run_import(
        import_options(history, store_db, tmp_path, errors=None, output_dir=tmp_path / "jobs")
    )
    if summary.rows_failed == 0:
        assert "errors" not in summary.outputs and not list((tmp_path / "jobs").glob("*.csv"))
    else:
        assert Path(summary.outputs["errors"]).exists()


def test_reclassify_report_is_chinese_with_absolute_links(
    store_db, case_service, tmp_path, monkeypatch
) -> None:
    from triage.config import get_settings

    monkeypatch.setenv("TRIAGE_JOBS_DIR", str(tmp_path / "jobs"))
    monkeypatch.setenv("TRIAGE_PUBLIC_URL", "http://10.0.0.5:8000")
    get_settings.cache_clear()
    case = case_service.submit(
        "小区三单元楼道堆满纸箱和旧家具，消防通道被堵住，存在火灾隐患，请物业尽快清理。"
    )
    case_service.accept(case.case_no, "reviewer1")  # the shifted model disagrees: flagged
    try:
        run_reclassify(ReclassifyOptions(database=store_db, triager_factory=SHIFTED))
        report = build_change_report(store_db, None)
    finally:
        get_settings.cache_clear()
    html_path = Path(report.outputs["html"])
    assert html_path.parent == tmp_path / "jobs" and html_path.name == f"reclassify-{report.job_id}.html"
    html = html_path.read_text(encoding="utf-8")
    assert "重新分类报告" in html and "待复核" in html and "案件编号" in html
    assert "Reclassification" not in html and "pending_review" not in html
    assert f'href="http://10.0.0.5:8000/cases/{case.case_no}"' in html


@pytest.mark.parametrize("chunk", [1, 3])
def test_resume_keeps_chunk_boundaries(tmp_path: Path, chunk: int) -> None:
    """A resumed classify gives the same output as one run (the chunks fall where they fell)."""
    inp = write_csv(tmp_path / "in.csv", sample_rows(40))
    whole = run_classify(options(inp, tmp_path / "whole.csv", chunk_size=chunk * 8))

    def stop(p) -> None:
        if p.rows_read >= 20:
            raise KeyboardInterrupt

    first = run_classify(options(inp, tmp_path / "part.csv", chunk_size=chunk * 8, progress_every=0), stop)
    assert first.interrupted
    run_classify(options(inp, tmp_path / "part.csv", chunk_size=chunk * 8, resume=True))
    assert (tmp_path / "part.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()
    assert whole.rows_read == 40


def test_profiles_departments_lists_the_codes_users_add_takes() -> None:
    from triage.profile_cli import profiles_app

    res = CliRunner().invoke(profiles_app, ["departments", "tipdm"])
    assert res.exit_code == 0, res.output
    rows = [line.split("\t") for line in res.stdout.splitlines()]
    assert rows[0] == ["code", "level", "name"]
    housing = next(r for r in rows[1:] if r[0] == "housing")
    assert housing[1] in ("市", "区", "街道", "社区", "网格") and "住房" in housing[2]
    assert CliRunner().invoke(profiles_app, ["departments", "atlantis"]).exit_code == 2
