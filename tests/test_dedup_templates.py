"""A city's template wording is left out of duplicate detection.

Hotline orders are written on templates ("市民来电反映：… 请相关部门核实处理"). Two orders that share only
the template are different matters; before templates were learned, the trigram index called them
copies and returned a template-mate for most orders. Messages here are written for these tests.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from tests.test_city_training import TRAIN_ARGS, export_rows, write_export
from training.cli import register
from triage.batch import worker
from triage.batch.classify import ClassifyOptions, run_classify
from triage.classify.bundle import load_bundle, save_bundle
from triage.config import Settings
from triage.dedup.lexical import DuplicateIndex
from triage.dedup.matter import build_duplicate_index
from triage.dedup.sketch import TEMPLATE_MIN_DOCS, TEMPLATES_KEY, Sketcher, template_keys
from triage.pipeline import Triager
from triage.tabular.files import read_rows

PREFIX = "市民来电反映："
SUFFIX = "，请相关部门核实处理（请职能局按规定在30分钟内联系市民，响应处置）"
MATTERS = [
    "解放路菜市场门口垃圾堆积无人清运",
    "滨海大道路灯损坏晚上很黑",
    "金地小区楼下烧烤摊油烟扰民",
    "人民路公交站牌被撞倒",
    "海甸岛三西路井盖缺失有安全隐患",
    "龙昆南路工地夜间施工噪音很大",
    "椰海大道绿化带树木倒伏",
    "国贸路商铺占道经营",
]


def templated(i: int) -> str:
    return f"{PREFIX}{MATTERS[i % len(MATTERS)]}，编号{i}{SUFFIX}"


JUNCTION = 2  # trigrams of PREFIX + SUFFIX that span the two (a matter always stands between them)
HISTORY = [templated(i) for i in range(TEMPLATE_MIN_DOCS + 40)]
TEMPLATES = template_keys(HISTORY).tolist()


def test_template_keys_are_the_wording_most_orders_share() -> None:
    templates = template_keys(HISTORY)
    assert len(templates) > 20
    assert np.all(np.diff(templates.astype(np.float64)) > 0)  # sorted, unique
    sketcher = Sketcher(60, 1)
    template_only = sketcher.sketch([PREFIX + SUFFIX])
    matter_only = Sketcher(60, 1, templates.tolist()).sketch([MATTERS[0]])
    # the bare template keeps only the 2 trigrams spanning its junction (never in the history);
    # a matter's own words are all kept
    assert Sketcher(60, 1, templates.tolist()).sketch([PREFIX + SUFFIX]).offsets[-1] == JUNCTION
    assert template_only.offsets[-1] > 20
    assert matter_only.offsets[-1] == sketcher.sketch([MATTERS[0]]).offsets[-1]


def test_no_templates_from_a_small_history() -> None:
    assert len(template_keys(HISTORY[: TEMPLATE_MIN_DOCS - 1])) == 0
    assert len(template_keys(HISTORY, min_share=1.01)) == 0


INDEXED = [f"{PREFIX}{m}{SUFFIX}" for m in MATTERS]


def _index(templates: list[int]) -> DuplicateIndex:
    index = DuplicateIndex(window_days=None, templates=templates)
    index.add_many((f"c{i}", text, None) for i, text in enumerate(INDEXED))
    return index


def test_orders_sharing_only_the_template_are_not_copies() -> None:
    other_matter = f"{PREFIX}白龙南路下水道堵塞污水外溢{SUFFIX}"
    before = _index([]).query(other_matter)
    assert before, "the premise: without templates the shared wording alone reaches the threshold"
    assert _index(TEMPLATES).query(other_matter) == []
    # nor do they meet in the LSH: no candidate is even scored
    assert _index([]).candidate_counts([other_matter])[0] > 0
    assert _index(TEMPLATES).candidate_counts([other_matter]) == [0]


def test_a_resubmitted_order_is_still_found_with_templates() -> None:
    index = _index(TEMPLATES)
    resubmitted = f"{PREFIX}解放路菜市场门口的垃圾堆积，无人清运！{SUFFIX}"
    found = index.query(resubmitted)
    assert [c.case_id for c in found] == ["c0"]
    assert found[0].score >= index.threshold


@pytest.mark.parametrize("matcher", ["lexical", "matter"])
def test_both_matchers_sketch_with_the_profile_templates(matcher: str) -> None:
    settings = Settings(duplicate_matcher=matcher, duplicate_lexical_source=True)
    index = build_duplicate_index(settings, TEMPLATES)
    lexical = index if isinstance(index, DuplicateIndex) else index.lexical
    assert lexical is not None
    assert lexical.templates.tolist() == sorted(TEMPLATES)


@pytest.fixture(scope="module")
def templated_bundle(tmp_path_factory) -> Path:
    """The shipped TipDM bundle with this file's template trigrams in its metadata."""
    out = tmp_path_factory.mktemp("templated")
    bundle = load_bundle(Settings().model_path)
    bundle.metadata[TEMPLATES_KEY] = TEMPLATES
    save_bundle(bundle, out)
    return out


def test_triager_takes_the_templates_from_its_bundle(templated_bundle: Path) -> None:
    index = Triager.load(templated_bundle).duplicate_index
    assert isinstance(index, DuplicateIndex)
    assert index.templates.tolist() == sorted(TEMPLATES)
    assert Triager.load().duplicate_index.templates.size == 0  # the TipDM bundle has none


def test_training_stores_the_exports_templates_and_the_card_says_so(tmp_path: Path) -> None:
    rows = export_rows(90)
    for row in rows:
        row["内容"] = PREFIX + row["内容"] + SUFFIX
    data = write_export(tmp_path / "export.csv", rows, "gb18030")
    app = typer.Typer()
    app.command("noop")(lambda: None)
    register(app)
    out = tmp_path / "model"
    result = CliRunner().invoke(app, ["train", "--data", str(data), "--out", str(out), *TRAIN_ARGS])
    assert result.exit_code == 0, result.output
    stored = load_bundle(out).metadata[TEMPLATES_KEY]
    assert Sketcher(60, 1, stored).sketch([PREFIX + SUFFIX]).offsets[-1] == JUNCTION
    assert "## Template text" in (out / "model_card.md").read_text()


def _classify_groups(tmp_path: Path, model: Path | None) -> dict[str, str]:
    rows = [(f"m{i}", text) for i, text in enumerate(INDEXED)]
    rows.append(("again", f"{PREFIX}解放路菜市场门口的垃圾堆积，无人清运！{SUFFIX}"))
    inp = tmp_path / f"in-{model is not None}.csv"
    with inp.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(["编号", "内容"])
        out.writerows(rows)
    result = tmp_path / f"out-{model is not None}.csv"
    run_classify(
        ClassifyOptions(input=inp, output=result, text_cols=["内容"], id_col="编号", model_path=model)
    )
    return {r.values["编号"]: r.values["duplicate_group"] for r in read_rows(result)}


def test_batch_groups_leave_the_profiles_templates_out_as_the_service_does(
    tmp_path, templated_bundle
) -> None:
    without = _classify_groups(tmp_path, None)
    assert len(set(without.values())) < len(INDEXED)  # the premise: template-mates grouped together
    groups = _classify_groups(tmp_path, templated_bundle)
    assert [groups[f"m{i}"] for i in range(len(INDEXED))] == [f"m{i}" for i in range(len(INDEXED))]
    assert groups["again"] == "m0"  # the resubmission still joins its original


def test_workers_report_their_bundles_templates(templated_bundle) -> None:
    spec = worker.ModelSpec(model_path=str(templated_bundle))
    assert worker.duplicate_templates(spec) == TEMPLATES
    assert worker.duplicate_templates(worker.ModelSpec()) == []  # the TipDM bundle has none
