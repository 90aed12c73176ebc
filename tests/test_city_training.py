"""Training a city's export as it comes: encodings, XLSX, mixed dates, empty and rare labels,
catch-all departments, repeated ids, the time split, the model card and ``evaluate --json``."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from training.cli import register
from training.datasets import load_export
from triage.classify.bundle import load_bundle

DISTRICTS = ["东湖区", "西山区"]
# (level 1, level 2, unit family, request type, text templates); {d} = district, {s} = street
TOPICS = [
    (
        "城管问题",
        "占道经营",
        "{d}城管局",
        "投诉类",
        ["{s}街道路边有人摆摊占道经营，影响通行", "{d}{s}夜市占道经营噪音大"],
    ),
    ("城管问题", "违章建筑", "{d}城管局", "投诉类", ["{s}小区楼顶搭建违章建筑", "举报{d}{s}有人违建加盖"]),
    ("公安", "交通违停", "市交警支队", "投诉类", ["路口车辆违停堵塞交通", "人行道上乱停车请交警处理"]),
    ("公安", "治安", "市公安局", "紧急类", ["有人打架斗殴请速出警", "家中被盗请派警察处理"]),
    ("住房保障", "公租房", "市住建局", "咨询类", ["咨询公租房申请条件", "公租房排队进度如何查询"]),
    ("交通港口", "公交", "市交通局", "建议类", ["建议增开公交线路", "公交车班次太少等车太久"]),
]
STREETS = {"东湖区": ["青山", "白沙"], "西山区": ["红岭", "金沙"]}
DATES = ["2024/3/{day}", "2024/3/{day} 9:15:02", "2024-03-{day:02d} 10:00", "2024年3月{day}日"]


def export_rows(n_per_topic: int = 10) -> list[dict[str, str]]:
    rows, k = [], 0
    for rep in range(n_per_topic):
        for level1, level2, unit, rtype, texts in TOPICS:
            district = DISTRICTS[k % 2]
            street = STREETS[district][k % 4 // 2]
            text = texts[rep % 2].format(d=district if rep % 3 else "", s=street)
            rows.append({
                "编号": str(1000 + k), "标题": text[:6], "内容": text, "一级": level1, "二级": level2,
                "单位": unit.format(d=district), "类型": rtype, "辖区": district if rep % 2 else "",
                "镇街": f"{street}街道办事处",
                "时间": DATES[k % 4].format(day=1 + k * 28 // (6 * n_per_topic)),
            })  # fmt: skip
            k += 1
    # what a real export also has
    rows.append(dict(rows[3], 编号="1003"))  # a repeated id
    late = "2024/3/29 23:59:00"  # among the latest orders, so the held-out figures must skip them
    rows.append(dict(rows[0], 编号="9001", 单位="其他单位", 时间=late))  # catch-all, not a department
    rows.append(dict(rows[1], 编号="9002", 单位="省级单位", 时间=late))
    rows.append(dict(rows[2], 编号="9003", 单位="", 时间=late))  # empty department
    rows.append(dict(rows[4], 编号="9004", 一级="", 二级=""))  # empty category
    rows.append(dict(rows[5], 编号="9005", 一级="罕见类", 二级="罕见子类"))  # a rare first level
    rows.append(dict(rows[6], 编号="9006", 二级="罕见二级"))  # a rare second level → its parent
    rows.append(dict(rows[7], 编号="9007", 单位="市档案馆"))  # a unit seen once
    rows.append(dict(rows[8], 编号="9008", 时间="不详"))  # an unparseable date
    return rows


def write_export(path: Path, rows: list[dict[str, str]], encoding: str = "utf-8") -> Path:
    if path.suffix == ".xlsx":
        from openpyxl import Workbook

        wb = Workbook()
        ws = wb.active
        ws.append(list(rows[0]))
        for r in rows:
            ws.append(list(r.values()))
        wb.save(path)
        return path
    with open(path, "w", encoding=encoding, newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def cli() -> typer.Typer:
    app = typer.Typer()
    app.command("noop")(lambda: None)
    register(app)
    return app


TRAIN_ARGS = ["--text-col", "标题", "--text-col", "内容", "--label-col", "一级", "--label-col", "二级",
              "--department-col", "单位", "--type-col", "类型", "--not-a-department", "其他单位",
              "--not-a-department", "省级单位", "--split-by-time", "时间", "--holdout", "0.25",
              "--id-col", "编号", "--district-col", "辖区", "--place-col", "镇街", "--word-min-df", "1",
              "--char-min-df", "1", "--no-baseline"]  # fmt: skip


@pytest.fixture(scope="module")
def trained(tmp_path_factory, cli) -> tuple[Path, Path, object]:
    tmp = tmp_path_factory.mktemp("city")
    data = write_export(tmp / "export.csv", export_rows(), "gb18030")
    out = tmp / "model"
    result = CliRunner().invoke(cli, ["train", "--data", str(data), "--out", str(out), *TRAIN_ARGS])
    return data, out, result


@pytest.mark.parametrize("name,encoding", [("a.csv", "utf-8"), ("b.csv", "gbk"), ("c.csv", "gb18030"),
                                           ("d.csv", "utf-8-sig"), ("e.xlsx", None)])  # fmt: skip
def test_export_reads_every_encoding_and_xlsx(tmp_path, name, encoding) -> None:
    path = write_export(tmp_path / name, export_rows(2), encoding or "utf-8")
    data = load_export(path, ["标题", "内容"], ["一级", "二级"], department_column="单位",
                       time_column="时间", id_column="编号", field_columns=["辖区"])  # fmt: skip
    assert data.rows_read == 21 and len(data) == 20  # the repeated id is dropped
    assert data.skipped == {"repeated 编号 (first occurrence kept)": 1}
    assert data.texts[0].startswith(export_rows(2)[0]["内容"][:6])
    assert sum(t is None for t in data.times) == 1  # "不详" only; all four date formats parse
    assert {t.day for t in data.times if t} <= set(range(1, 30))
    assert data.empty["一级"] == 1 and data.empty["单位"] == 1
    assert data.fields[0]["辖区"] == "" and data.fields[7]["辖区"] == "西山区"


def test_train_takes_the_export_as_it_comes(trained) -> None:
    _, out, result = trained
    assert result.exit_code == 0, result.output
    card = json.loads((out / "model_card.json").read_text())
    assert card["split"]["kind"] == "time" and card["split"]["test_rows"] == 17
    assert card["training_data"]["rows_skipped"] == {"repeated 编号 (first occurrence kept)": 1}
    merged = card["merged_classes"]
    assert "罕见类" in merged["category"]  # a first level has no parent: left to review
    assert merged["category_path"]["城管问题 › 罕见二级"] == "城管问题"  # merged into its parent level
    assert "市档案馆" in merged["department"]
    assert card["not_a_department"] == ["其他单位", "省级单位"]
    assert set(card["auto_dispatch"]) == {"threshold", "coverage", "precision", "n", "target_precision"}
    dept = card["metrics"]["department_holdout"]
    assert dept["skipped"] == 3 and dept["n"] + dept["skipped"] == 17
    assert set(card["heads"]) == {"hierarchy", "request_type", "department"}
    md = (out / "model_card.md").read_text()
    assert "latest 25%" in md and "## Rare classes" in md and "其他单位" in md


def test_bundle_never_suggests_a_catch_all_and_uses_jurisdiction(trained) -> None:
    _, out, _ = trained
    bundle = load_bundle(out)
    units = set(bundle.department.classes_)
    assert not units & {"其他单位", "省级单位", ""}
    assert {"东湖区城管局", "西山区城管局"} <= units
    from triage.text.tokenizer import tokenize

    text = "红岭街道路边有人摆摊占道经营"  # 红岭 lies in 西山区 (learned from the 镇街 column)
    for fields, expected in (({"辖区": "东湖区"}, "东湖区城管局"), ({}, "西山区城管局")):
        [s] = bundle.department.suggest([tokenize(text)], [text], [fields])
        assert s.top_k[0][0] == expected, s
        assert "辖区" in s.reason and expected in s.reason
        assert (
            abs(
                sum(
                    p for _, p in bundle.department.suggest([tokenize(text)], [text], [fields], k=99)[0].top_k
                )
                - 1
            )
            < 1e-3
        )


def test_evaluate_json_contract(trained, cli) -> None:
    data, out, _ = trained
    args = ["evaluate", "--model", str(out), "--data", str(data), "--text-col", "标题", "--text-col", "内容",
            "--label-col", "一级", "--department-col", "单位", "--not-a-department", "其他单位",
            "--json"]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert {"accuracy", "macro_f1", "department"} <= set(report)
    dept = report["department"]
    assert {"accuracy", "top3", "coverage_at_precision_95", "n", "skipped"} <= set(dept)
    # 省级单位 is stored with the model: skipped although not given here; plus the empty one
    assert dept["skipped"] == 3 and dept["n"] == len(export_rows()) - 3
    assert 0 <= dept["coverage_at_precision_95"] <= 1 and dept["accuracy"] <= dept["top3"]
    assert set(dept["auto_dispatch"]) == {"threshold", "coverage", "precision"}


def test_rare_classes_are_not_an_error(tmp_path, cli) -> None:
    rows = export_rows(3) + [dict(export_rows(1)[0], 编号=str(5000 + i), 一级=f"孤例{i}") for i in range(3)]
    data = write_export(tmp_path / "x.csv", rows)
    result = CliRunner().invoke(
        cli, ["train", "--data", str(data), "--out", str(tmp_path / "m"), *TRAIN_ARGS]
    )
    assert result.exit_code == 0, result.output


def test_too_few_departments_is_a_clear_error(tmp_path, cli) -> None:
    rows = [dict(r, 单位="其他单位") for r in export_rows(3)]
    data = write_export(tmp_path / "y.csv", rows)
    result = CliRunner().invoke(
        cli, ["train", "--data", str(data), "--out", str(tmp_path / "m"), *TRAIN_ARGS]
    )
    assert result.exit_code == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and "department column '单位' needs at least two units" in last
