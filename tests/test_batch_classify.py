"""``triage batch classify``: formats and encodings, bad rows, order, duplicate groups, resume
(in-process interrupt and a real kill -9), process pool and Dask engines giving identical output."""

from __future__ import annotations

import csv
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from openpyxl import Workbook

from triage.batch.classify import ClassifyOptions, run_classify
from triage.batch.worker import RESULT_COLUMNS
from triage.errors import InputError
from triage.tabular.files import TabularReader, read_rows

REPO = Path(__file__).resolve().parent.parent

# Hand-written petitions; STAIRS_AGAIN is a reworded copy of STAIRS.
STAIRS = "小区三单元楼道堆满纸箱和旧家具，消防通道被堵住，存在火灾隐患，请物业尽快清理。"
STAIRS_AGAIN = "小区三单元楼道堆满了纸箱和旧家具，消防通道被堵住了，存在火灾隐患，请物业尽快清理！"
MESSAGES = [
    ("楼道堵塞", STAIRS),
    ("路灯坏了", "东门外的路灯已经坏了一个多月，晚上出行很不安全，希望尽快维修。"),
    ("烧烤扰民", "楼下烧烤店每天营业到凌晨两点，油烟和噪音严重扰民，根本无法休息。"),
    ("井盖丢失", "人行道上的井盖丢失了，已经有老人差点掉进去，请相关部门马上处理。"),
    ("加装电梯", "我们老旧小区想加装电梯，请问需要办理哪些手续，政府有没有补贴？"),
    ("入学咨询", "孩子今年九月上小学，户口在本区但房子是租的，请问能否就近入学？"),
    ("拖欠工资", "单位拖欠工资三个月，多次讨要无果，请劳动监察部门帮忙维权。"),
    ("楼道堵塞", STAIRS_AGAIN),
    ("电动车充电", "小区电动车在楼道里充电，晚上经常有人私拉电线，非常危险。"),
    ("污水倒灌", "暴雨后小区地下室污水倒灌，一楼住户家里全是臭水，请尽快疏通管道。"),
]


def write_csv(path: Path, rows: list[tuple[str, str, str]], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as f:
        out = csv.writer(f)
        out.writerow(["编号", "标题", "内容"])
        out.writerows(rows)
    return path


def sample_rows(n: int = len(MESSAGES)) -> list[tuple[str, str, str]]:
    return [(f"m{i + 1}", *MESSAGES[i % len(MESSAGES)]) for i in range(n)]


def options(inp: Path, out: Path, **kw) -> ClassifyOptions:
    kw.setdefault("text_cols", ["标题", "内容"])
    kw.setdefault("id_col", "编号")
    return ClassifyOptions(input=inp, output=out, **kw)


def output_rows(path: Path) -> list[dict]:
    return [r.values for r in read_rows(path)]


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[Path, list[dict]]:
    """The sample file classified once, inline: what every other run must reproduce."""
    tmp = tmp_path_factory.mktemp("ref")
    inp = write_csv(tmp / "in.csv", sample_rows())
    summary = run_classify(options(inp, tmp / "out.csv"))
    assert (summary.rows_read, summary.rows_written, summary.rows_failed) == (10, 10, 0)
    return inp, output_rows(tmp / "out.csv")


def test_classify_job_logs_start_and_end(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.INFO, logger="triage.batch")
    inp, out = write_csv(tmp_path / "in.csv", sample_rows(3)), tmp_path / "out.csv"
    run_classify(options(inp, out))
    lines = [r.getMessage() for r in caplog.records if r.name == "triage.batch.classify"]
    assert len(lines) == 2 and lines[0] == f"classify job started: {inp} -> {out}"
    assert lines[1].startswith(f"classify job {out} done: 3 rows read, 3 written, 0 failed in ")


def test_output_columns_order_and_groups(reference) -> None:
    _, rows = reference
    assert list(rows[0]) == ["编号", "标题", "内容", *RESULT_COLUMNS]
    assert [r["编号"] for r in rows] == [f"m{i}" for i in range(1, 11)]
    for r in rows:
        assert r["category"] and r["department"] and r["level"] in {"网格", "社区", "街道", "区", "市"}
        assert 0 < float(r["confidence"]) <= 1 and r["needs_review"] in {"true", "false"}
        assert r["top2_category"] and float(r["top2_confidence"]) <= float(r["confidence"])
    by_id = {r["编号"]: r for r in rows}
    assert by_id["m8"]["duplicate_group"] == "m1" and float(by_id["m8"]["duplicate_score"]) >= 0.6
    assert by_id["m1"]["duplicate_group"] == "m1" and by_id["m1"]["duplicate_score"] == ""
    assert all(by_id[f"m{i}"]["duplicate_group"] == f"m{i}" for i in (2, 3, 4, 5, 6, 7, 9, 10))


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gbk", "gb18030"])
def test_csv_encodings_give_the_same_results(reference, tmp_path: Path, encoding: str) -> None:
    _, want = reference
    inp = write_csv(tmp_path / "in.csv", sample_rows(), encoding)
    run_classify(options(inp, tmp_path / "out.csv"))
    assert output_rows(tmp_path / "out.csv") == want


def test_xlsx_and_jsonl_in_and_out(reference, tmp_path: Path) -> None:
    _, want = reference
    wb = Workbook()
    ws = wb.active
    ws.append(["编号", "标题", "内容"])
    for row in sample_rows():
        ws.append(list(row))
    wb.save(tmp_path / "in.xlsx")
    run_classify(options(tmp_path / "in.xlsx", tmp_path / "out.xlsx"))
    got = output_rows(tmp_path / "out.xlsx")
    assert [r["category"] for r in got] == [r["category"] for r in want]
    assert [r["duplicate_group"] for r in got] == [r["duplicate_group"] for r in want]
    assert got[0]["needs_review"] in (True, False)  # native types in XLSX

    with (tmp_path / "in.jsonl").open("w", encoding="utf-8") as f:
        for i, title, body in sample_rows():
            f.write(
                json.dumps({"编号": i, "标题": title, "内容": body, "extra": {"k": 1}}, ensure_ascii=False)
                + "\n"
            )
    run_classify(options(tmp_path / "in.jsonl", tmp_path / "out.jsonl"))
    lines = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["category"] for r in lines] == [r["category"] for r in want]
    assert lines[0]["extra"] == {"k": 1} and isinstance(lines[0]["confidence"], float)
    assert not list(tmp_path.glob("*.part")) and not list(tmp_path.glob("*.checkpoint.json"))


def test_bad_rows_are_reported_and_the_rest_go_on(tmp_path: Path) -> None:
    inp = tmp_path / "in.csv"
    inp.write_text(
        "编号,标题,内容\n"
        f"a1,楼道堵塞,{STAIRS}\n"
        "a2,,\n"  # empty text
        'a3,"引号"没闭合,内容\n'  # broken quoting
        "a4,hello,world only latin\n"  # no Chinese: written, the model abstains
        "a5,多一列,内容,多余\n"  # wrong field count
        f"a6,路灯坏了,{MESSAGES[1][1]}\n",
        encoding="utf-8",
    )
    summary = run_classify(options(inp, tmp_path / "out.csv"))
    assert (summary.rows_read, summary.rows_written, summary.rows_failed) == (6, 3, 3)
    assert [r["编号"] for r in output_rows(tmp_path / "out.csv")] == ["a1", "a4", "a6"]
    with (tmp_path / "out.errors.csv").open(encoding="utf-8-sig") as f:
        errors = list(csv.DictReader(f))
    assert [(e["row"], e["line"], e["error_code"]) for e in errors] == [
        ("2", "3", "empty_text"),
        ("3", "4", "bad_csv_row"),
        ("5", "6", "bad_csv_row"),
    ]
    assert errors[0]["id"] == "a2" and "broken quoting" in errors[1]["reason"]


def test_missing_column_is_a_clear_error(tmp_path: Path) -> None:
    inp = write_csv(tmp_path / "in.csv", sample_rows(2))
    with pytest.raises(InputError) as err:
        run_classify(options(inp, tmp_path / "out.csv", text_cols=["标题", "正文"]))
    assert err.value.code == "missing_column"
    assert "'正文'" in err.value.message and "'编号', '标题', '内容'" in err.value.message
    assert not (tmp_path / "out.csv").exists()


def test_resume_after_interrupt_loses_and_repeats_nothing(tmp_path: Path) -> None:
    inp = write_csv(tmp_path / "in.csv", sample_rows(60))
    run_classify(options(inp, tmp_path / "ref.csv", chunk_size=7))

    def stop_after_some(progress) -> None:
        if progress.rows_read >= 21:
            raise KeyboardInterrupt

    first = run_classify(options(inp, tmp_path / "out.csv", chunk_size=7, progress_every=0), stop_after_some)
    assert first.interrupted and 21 <= first.rows_read < 60
    assert not (tmp_path / "out.csv").exists() and (tmp_path / "out.csv.checkpoint.json").exists()
    with pytest.raises(InputError, match="chunk_size"):
        run_classify(options(inp, tmp_path / "out.csv", chunk_size=8, resume=True))
    second = run_classify(options(inp, tmp_path / "out.csv", chunk_size=7, resume=True))
    assert second.resumed_at_row == first.rows_read and second.rows_read == 60
    assert (tmp_path / "out.csv").read_bytes() == (tmp_path / "ref.csv").read_bytes()
    assert not (tmp_path / "out.csv.checkpoint.json").exists()


def test_kill_9_then_resume_matches_an_uninterrupted_run(tmp_path: Path) -> None:
    """A real SIGKILL mid-run: the resumed output equals the uninterrupted one, row for row."""
    inp = write_csv(tmp_path / "in.csv", sample_rows(300))
    run_classify(options(inp, tmp_path / "ref.csv", chunk_size=10))
    out, ckpt = tmp_path / "out.csv", tmp_path / "out.csv.checkpoint.json"
    cmd = [
        sys.executable, "-m", "triage.cli", "batch", "classify", "--input", str(inp), "--output", str(out),
        "--text-col", "标题", "--text-col", "内容", "--id-col", "编号", "--chunk-size", "10", "--quiet",
        "--workers", "2",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    done, helpers = 0, []
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if ckpt.exists():
            try:
                done = json.loads(ckpt.read_text(encoding="utf-8"))["rows_read"]
            except (ValueError, KeyError, OSError):
                done = 0
            if done >= 60:
                helpers = psutil.Process(proc.pid).children(recursive=True)  # forkserver + pool workers
                os.kill(proc.pid, signal.SIGKILL)
                break
        time.sleep(0.01)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()
    assert 60 <= done < 300 and helpers
    _, alive = psutil.wait_procs(helpers, timeout=15)  # workers notice the parent is gone and exit
    assert alive == []
    # `--resume` in this process (same code path as the CLI flag; the model is already loaded here)
    summary = run_classify(options(inp, out, chunk_size=10, resume=True))
    assert summary.resumed_at_row >= done and summary.rows_read == 300
    got, want = output_rows(out), output_rows(tmp_path / "ref.csv")
    assert len(got) == 300 and len({r["编号"] for r in got}) == 300
    assert got == want


def test_process_pool_and_dask_give_identical_output(reference, tmp_path: Path) -> None:
    from distributed import Client, LocalCluster

    inp, _ = reference
    want = (inp.parent / "out.csv").read_bytes()
    run_classify(options(inp, tmp_path / "pool.csv", workers=2, chunk_size=3))
    assert (tmp_path / "pool.csv").read_bytes() == want
    with (
        LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        summary = run_classify(
            options(inp, tmp_path / "dask.csv", engine="dask", scheduler=client, chunk_size=3)
        )
        assert summary.rows_written == 10
        run_classify(
            options(
                inp, tmp_path / "dask2.csv", engine="dask", scheduler=cluster.scheduler_address, chunk_size=4
            )
        )
    assert (tmp_path / "dask.csv").read_bytes() == want
    assert (tmp_path / "dask2.csv").read_bytes() == want


def test_dask_without_scheduler_is_a_config_error(tmp_path: Path) -> None:
    from triage.errors import ConfigError

    inp = write_csv(tmp_path / "in.csv", sample_rows(2))
    with pytest.raises(ConfigError, match="--scheduler"):
        run_classify(options(inp, tmp_path / "out.csv", engine="dask"))


def test_cli_classify_prints_a_summary(tmp_path: Path) -> None:
    import typer
    from typer.testing import CliRunner

    from triage.batch.cli import register

    app = typer.Typer()
    app.command("noop")(lambda: None)
    register(app)
    inp = write_csv(tmp_path / "in.csv", sample_rows(3))
    out = tmp_path / "out.jsonl"
    args = [
        "batch",
        "classify",
        "-i",
        str(inp),
        "-o",
        str(out),
        "--text-col",
        "标题",
        "--text-col",
        "内容",
        "--json",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["rows_written"] == 3 and summary["outputs"]["output"] == str(out)
    with TabularReader(out) as reader:
        assert [r.values["duplicate_group"] for r in reader] == [
            "1",
            "2",
            "3",
        ]  # row numbers without --id-col
    bad = CliRunner().invoke(app, ["batch", "classify", "-i", str(inp), "-o", str(out), "--text-col", "正文"])
    assert bad.exit_code == 2 and "no column '正文'" in bad.output


def test_job_runner_runs_classify_in_the_background(tmp_path: Path) -> None:
    from triage.batch import RUNNERS
    from triage.batch.jobs import JobRunner

    inp = write_csv(tmp_path / "in.csv", sample_rows(4))
    runner = JobRunner(RUNNERS)
    job_id = runner.start("classify", options(inp, tmp_path / "out.csv"))
    state = runner.wait(job_id, timeout=120)
    assert state["status"] == "done" and state["kind"] == "classify", state
    assert state["summary"]["rows_written"] == 4 and state["progress"]["finished"]
    assert state["progress"]["fraction"] == 1.0 and (tmp_path / "out.csv").exists()
    with pytest.raises(InputError, match="unknown job kind"):
        runner.start("train", options(inp, tmp_path / "x.csv"))
