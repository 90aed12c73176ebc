"""Training data readers, the train/evaluate commands and the shipped model."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import typer
from openpyxl import Workbook
from test_classifier import MESSAGES
from typer.testing import CliRunner

from training.cli import register
from training.datasets import load_labelled
from triage.errors import InputError

REPO = Path(__file__).resolve().parent.parent
ROWS = [
    {"标题": "公交站台被拆", "正文": "早上等车只能站在马路上", "类别": "交通运输", "部门": "交通局"},
    {"标题": "", "正文": "工厂晚上偷排废气", "类别": "环境保护", "部门": "环保局"},
    {"标题": "学校乱收费", "正文": "", "类别": "教育文体", "部门": ""},
    {"标题": "", "正文": "  ", "类别": "卫生计生", "部门": "卫健委"},  # empty text: skipped
    {"标题": "医院挂号难", "正文": "专家号挂不上", "类别": "", "部门": "卫健委"},  # empty label: skipped
]
COLUMNS = list(ROWS[0])


def write_csv(path: Path, rows: list[dict], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_csv_encodings(tmp_path, encoding) -> None:
    path = write_csv(tmp_path / "d.csv", ROWS, encoding)
    data = load_labelled(path, ["标题", "正文"], "类别")
    assert data.texts == ["公交站台被拆\n早上等车只能站在马路上", "工厂晚上偷排废气", "学校乱收费"]
    assert data.labels == ["交通运输", "环境保护", "教育文体"]
    assert data.rows_read == 5
    assert dict(data.skipped) == {"empty text": 1, "empty label": 1}
    assert data.skip_report() == ["1 row skipped: empty label (rows 5)", "1 row skipped: empty text (rows 4)"]
    assert data.description()["rows_used"] == 3 and len(data.sha256) == 64


def test_xlsx(tmp_path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(COLUMNS)
    for row in ROWS:
        ws.append([row[c] or None for c in COLUMNS])
    wb.save(tmp_path / "d.xlsx")
    data = load_labelled(tmp_path / "d.xlsx", ["标题", "正文"], "类别", department_column="部门")
    assert data.labels == ["交通运输", "环境保护", "教育文体"]
    assert data.departments == ["交通局", "环保局", ""]
    assert data.texts[0] == "公交站台被拆\n早上等车只能站在马路上"


def test_jsonl_with_a_bad_line(tmp_path) -> None:
    lines = [json.dumps(r, ensure_ascii=False) for r in ROWS[:2]] + ["{not json"]
    (tmp_path / "d.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    data = load_labelled(tmp_path / "d.jsonl", ["正文"], "类别")
    assert data.texts == ["早上等车只能站在马路上", "工厂晚上偷排废气"]
    assert data.skipped["unreadable row (bad_json_row)"] == 1


def test_missing_column_is_named(tmp_path) -> None:
    path = write_csv(tmp_path / "d.csv", ROWS)
    with pytest.raises(InputError) as err:
        load_labelled(path, ["标题", "内容"], "类别")
    assert "'内容'" in err.value.message and "'正文'" in err.value.message  # names it, lists the rest
    assert err.value.field == "内容"


def test_missing_and_unusable_files(tmp_path) -> None:
    with pytest.raises(InputError, match="not found"):
        load_labelled(tmp_path / "nope.csv", ["text"], "label")
    (tmp_path / "bin.csv").write_bytes(b"\x00\x01\x02binary")
    with pytest.raises(InputError):
        load_labelled(tmp_path / "bin.csv", ["text"], "label")
    write_csv(tmp_path / "empty.csv", [{"text": "", "label": "x"}])
    with pytest.raises(InputError, match="no usable rows"):
        load_labelled(tmp_path / "empty.csv", ["text"], "label")


# ----------------------------------------------------------------------------- CLI
@pytest.fixture(scope="module")
def cli() -> typer.Typer:
    app = typer.Typer()
    app.command("noop")(lambda: None)  # a second command keeps typer in multi-command mode
    register(app)
    return app


def corpus_csv(path: Path) -> Path:
    rows = []
    for label, texts in MESSAGES.items():
        for i, text in enumerate(texts):
            title, body = text[:8], text[8:]
            rows.append({"title": title, "body": body, "label": label, "dept": f"{label}部门{i % 2}"})
    return write_csv(path, rows)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, cli) -> tuple[Path, Path, object]:
    tmp = tmp_path_factory.mktemp("train")
    data = corpus_csv(tmp / "train.csv")
    out = tmp / "model"
    args = ["train", "--data", str(data), "--text-col", "title", "--text-col", "body", "--label-col", "label",
            "--department-col", "dept", "--eval-data", str(data), "--out", str(out),
            "--holdout", "0.2"]  # fmt: skip
    return data, out, CliRunner().invoke(cli, args)


def test_train_writes_bundle_and_card(trained) -> None:
    _, out, result = trained
    assert result.exit_code == 0, result.output
    assert "macro_f1=" in result.stdout and "held-out" in result.stdout
    for name in ("model.joblib", "model_card.md", "model_card.json", "confusion_matrix.png"):
        assert (out / name).is_file(), name
    card = json.loads((out / "model_card.json").read_text())
    assert card["training_data"]["rows_used"] == 48 and card["metrics"]["eval"]["n"] == 48
    assert card["metrics"]["holdout"]["n"] == 10
    assert card["model_version"].startswith("cat-")
    assert "## Limitations" in (out / "model_card.md").read_text()

    from triage.classify.bundle import load_bundle

    bundle = load_bundle(out)
    assert bundle.department is not None and len(bundle.department.classes_) == 8
    assert bundle.metadata["training_data"]["sha256"] == card["training_data"]["sha256"]


def test_evaluate_json(trained, cli) -> None:
    data, out, _ = trained
    args = ["evaluate", "--model", str(out), "--data", str(data), "--text-col", "title", "--text-col", "body",
            "--label-col", "label", "--json"]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)  # exactly one JSON object on stdout
    assert {"accuracy", "macro_f1", "per_class", "n", "model_version"} <= set(report)
    assert (
        report["n"] == 48
        and report["model_version"] == json.loads((out / "model_card.json").read_text())["model_version"]
    )
    assert report["macro_f1"] > 0.8 and set(report["per_class"]) == set(MESSAGES)
    plain = CliRunner().invoke(cli, args[:-1])
    assert plain.exit_code == 0 and "macro_f1=" in plain.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["evaluate", "--model", "MODEL", "--data", "DATA", "--text-col", "正文", "--label-col", "label"],
        ["evaluate", "--model", "MODEL", "--data", "MISSING", "--text-col", "title", "--label-col", "label"],
        ["evaluate", "--model", "MISSING", "--data", "DATA", "--text-col", "title", "--label-col", "label"],
        ["train", "--data", "DATA", "--text-col", "title", "--label-col", "类别", "--out", "OUT"],
        ["train", "--data", "MISSING", "--text-col", "title", "--label-col", "label", "--out", "OUT"],
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path, cli, trained, args) -> None:
    data, model, _ = trained
    subst = {"DATA": str(data), "MISSING": str(tmp_path / "missing.csv"), "MODEL": str(model),
             "OUT": str(tmp_path / "out")}  # fmt: skip
    result = CliRunner().invoke(cli, [subst.get(a, a) for a in args])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert not (tmp_path / "out").exists()


@pytest.mark.shared
def test_shipped_model_on_dev(shared_data) -> None:
    from training.evaluate import evaluate_file

    result = evaluate_file(REPO / "models" / "category", shared_data / "dev.csv", ["title", "body"], "label")
    assert result["n"] == 457
    assert result["macro_f1"] >= 0.85


def test_macro_f1_interval_brackets_the_estimate() -> None:
    from sklearn.metrics import f1_score

    from training.evaluate import macro_f1_interval

    labels = ["环境", "设施", "纠纷"]
    truth = labels * 40
    assert macro_f1_interval(truth, truth, labels) == [1.0, 1.0]
    noisy = [t if i % 5 else labels[(labels.index(t) + 1) % 3] for i, t in enumerate(truth)]
    low, high = macro_f1_interval(truth, noisy, labels)
    assert low < f1_score(truth, noisy, average="macro") < high and high - low < 0.3
    assert macro_f1_interval(truth, noisy, labels) == [low, high]  # seeded: reproducible
    assert macro_f1_interval(["环境"], ["环境"], labels) is None
