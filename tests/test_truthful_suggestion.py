"""What the model thinks, shown truthfully: a keyword rule's category carries the model's own
probability of that category, the rule is named in Chinese, and every output (CLI JSON, batch
rows) says so. Issue #13 item 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from triage.batch.classify import ClassifyOptions, run_classify
from triage.batch.worker import RESULT_COLUMNS, result_row
from triage.cli import app
from triage.pipeline import RouteStage, Triager
from triage.result import CategoryScore, TriageResult, probability_of
from triage.route.explain import UNNAMED_RULE, reason_text
from triage.tabular.files import read_rows

FUMES = "楼下饭店油烟很大，熏得窗户都打不开"  # rule 油烟扰民 → 环境保护; the model says 城乡建设
FIRE_EXIT = "小区楼道堆满杂物，堵住了消防通道"  # rule 消防通道堵塞 → 政法, a category the model lacks
ELEVATOR = "我们小区是老旧小区，六楼老人上下楼困难，想申请加装电梯，请问需要哪些手续？"


@pytest.fixture(scope="module")
def triager() -> Triager:
    return Triager.load()


def test_rule_override_carries_the_models_probability_of_the_decided_category(triager: Triager) -> None:
    r = triager.triage(FUMES)
    assert r.route_reason["source"] == "rule" and r.category != r.model_category
    assert (r.category, r.model_category) == ("环境保护", "城乡建设")
    assert r.confidence == r.top_k[0].probability  # unchanged: the model's top-1 (review threshold)
    assert r.category_probability == probability_of("环境保护", r.top_k) < r.confidence
    assert r.route_reason["rule_name"] == "油烟扰民"
    assert r.route_reason["category_probability"] == r.category_probability  # stored with the case
    assert r.needs_review


def test_a_category_the_model_does_not_know_has_probability_zero(triager: Triager) -> None:
    r = triager.triage(FIRE_EXIT)
    assert r.category == "政法" and r.model_category == "城乡建设"
    assert r.category_probability == 0.0 and r.route_reason["rule_name"] == "消防通道堵塞"


def test_model_decision_probability_is_the_confidence(triager: Triager) -> None:
    r = triager.triage(ELEVATOR)
    if r.category == r.model_category:
        assert r.category_probability == r.confidence
    assert "category_probability" not in r.route_reason or r.route_reason["source"] == "rule"


def test_category_outside_top_k_is_scored_with_the_bundle(triager: Triager) -> None:
    """A rule category the top-k left out gets the bundle's full probability, not a guess."""
    stage = triager.get_stage("route")
    assert isinstance(stage, RouteStage)
    full = triager.triage(FUMES)
    r = TriageResult(text=full.text, tokens=list(full.tokens))
    r.top_k = [CategoryScore(full.top_k[0].label, full.top_k[0].probability)]  # only the model's top 1
    r.model_category = r.category = full.model_category
    r.confidence = full.confidence
    stage([r])
    assert r.category == "环境保护" and r.category_probability == pytest.approx(
        full.category_probability, abs=1e-4
    )
    bare = RouteStage(triager.router)  # no bundle: the probability is unknown, never made up
    r2 = TriageResult(text=full.text, tokens=list(full.tokens), top_k=r.top_k[:1], model_category="城乡建设")
    bare([r2])
    assert r2.category == "环境保护" and r2.category_probability is None


def test_reason_text_names_the_rule_never_its_id() -> None:
    reason = {
        "source": "rule",
        "rule_id": "square_dance",
        "rule_name": "广场舞噪音",
        "matched_terms": ["广场舞"],
    }
    assert reason_text(reason) == "路由规则「广场舞噪音」决定（关键词：广场舞）"
    old = {"source": "rule", "rule_id": "fire_exit_blocked", "matched_terms": ["消防通道"]}  # stored unnamed
    assert "消防通道堵塞" in reason_text(old, {"fire_exit_blocked": "消防通道堵塞"})
    assert UNNAMED_RULE in reason_text(old) and "fire_exit_blocked" not in reason_text(old)
    urgent = reason | {"priority_rule": "gas_leak", "priority_rule_name": "燃气泄漏"}
    assert reason_text(urgent).endswith("紧急程度按规则「燃气泄漏」")
    assert reason_text({"source": "abstain", "message": "无中文内容，需人工分拨"}) == "无中文内容，需人工分拨"


def test_batch_row_and_cli_json_follow(triager: Triager, tmp_path: Path) -> None:
    row = result_row(triager.triage(FUMES))
    assert row["route_reason"] == "路由规则「油烟扰民」决定（关键词：油烟）"
    assert (row["model_category"], row["category"]) == ("城乡建设", "环境保护")
    assert row["category_probability"] < row["confidence"]
    assert {"route_reason", "category_probability", "model_category"} <= set(RESULT_COLUMNS)

    out = CliRunner().invoke(app, ["classify", FUMES])
    assert out.exit_code == 0, out.output
    body = json.loads(out.output)
    assert body["category_probability"] == row["category_probability"]
    assert body["route_reason"]["rule_name"] == "油烟扰民"


def test_batch_classify_file_has_a_chinese_route_reason_column(tmp_path: Path) -> None:
    inp = tmp_path / "in.csv"
    inp.write_text(f"编号,内容\nm1,{FUMES}\nm2,{ELEVATOR}\n", encoding="utf-8")
    out = tmp_path / "out.xlsx"
    run_classify(ClassifyOptions(input=inp, output=out, text_cols=["内容"], id_col="编号", dedup=False))
    rows = {r.values["编号"]: r.values for r in read_rows(out)}
    assert rows["m1"]["route_reason"].startswith("路由规则「油烟扰民」")
    assert float(rows["m1"]["category_probability"]) < float(rows["m1"]["confidence"])
    assert "cooking_fumes" not in json.dumps(rows, ensure_ascii=False)
    assert rows["m2"]["route_reason"]  # a model decision is worded too
