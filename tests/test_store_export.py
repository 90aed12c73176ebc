"""Training export: reviewed cases with final labels, then round-trip into `triage train`."""

from __future__ import annotations

import csv
import random
import subprocess
import sys
from pathlib import Path

import pytest
from support.synthetic import petition_text

from triage.config import LOCAL_TZ
from triage.store.export import COLUMNS, export_training

LABELS = ("城乡建设", "环境保护", "交通运输")


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_export_holds_reviewed_cases_with_final_labels(case_service, store_clock, tmp_path) -> None:
    svc = case_service
    a = svc.submit("人民公园的公厕好几天没人打扫，里面脏得没法进，电话13811112222。", title="公厕脏乱")
    b = svc.submit("东风路口的红绿灯坏了三天了，早晚高峰堵成一锅粥，行人过马路很危险。")
    c = svc.submit("锦绣花园的物业把绿地改成了停车位，业主都不同意，希望住建部门查一查。")
    d = svc.submit("幸福里社区门口有人摆摊卖菜，堵住了消防通道。")
    svc.accept(a.case_no, "rev")
    other = next(x for x in svc.catalog.category_names() if x != b.suggested_category)
    svc.correct(b.case_no, "rev", category=other)
    svc.reject(c.case_no, "rev", "重复")  # not exported: no final label
    assert d.status == "pending_review"  # not exported: not reviewed yet

    out = tmp_path / "export" / "train.csv"
    assert export_training(svc.db, out) == 2
    rows = _read(out)
    assert list(rows[0].keys()) == list(COLUMNS)
    by_no = {r["case_no"]: r for r in rows}
    assert by_no[a.case_no]["label"] == a.suggested_category and by_no[a.case_no]["corrected"] == "0"
    assert by_no[a.case_no]["text"].startswith("公厕脏乱 ")
    assert "13811112222" not in by_no[a.case_no]["text"]  # PII masked
    assert by_no[b.case_no]["label"] == other and by_no[b.case_no]["corrected"] == "1"
    assert by_no[b.case_no]["suggested_label"] == b.suggested_category and by_no[b.case_no]["department"]

    store_clock.advance(days=3)
    e = svc.submit("实验小学门口的减速带被压坏了，车辆经过速度很快，孩子上学不安全。")
    svc.accept(e.case_no, "rev")
    since = store_clock.now.astimezone(LOCAL_TZ).date().isoformat()
    assert export_training(svc.db, out, since=since) == 1
    assert [r["case_no"] for r in _read(out)] == [e.case_no]


def _review_many(svc, n_per_label: int) -> None:
    rng = random.Random(3)
    made = {label: 0 for label in LABELS}
    while min(made.values()) < n_per_label:
        label, text = petition_text(rng)
        if label not in made or made[label] >= n_per_label:
            continue
        case = svc.submit(text, source="batch")
        svc.correct(case.case_no, "rev", category=label)
        made[label] += 1


@pytest.mark.parametrize("store_db", ["sqlite"], indirect=True)
def test_export_round_trips_into_triage_train(case_service, tmp_path) -> None:
    _review_many(case_service, 12)
    data = tmp_path / "reviewed.csv"
    assert export_training(case_service.db, data) == 36
    model_dir = tmp_path / "model"
    cmd = [
        sys.executable,
        "-c",
        "from triage.cli import main; main()",
        "train",
        "--data",
        str(data),
        "--text-col",
        "text",
        "--label-col",
        "label",
        "--out",
        str(model_dir),
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]

    from triage.pipeline import Triager

    retrained = Triager.load(model_dir)
    labels = {s.label for s in retrained.triage(petition_text(random.Random(9))[1]).top_k}
    assert labels <= set(LABELS)
