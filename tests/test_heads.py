"""The heads of a city bundle: path merging and consistency, jurisdiction, the pipeline's use of them,
and the single-head TipDM bundle behaving as before."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_city_training import export_rows, write_export
from training.train import TrainOptions, run_training
from triage.classify.bundle import load_bundle
from triage.classify.department import Jurisdiction, learn_jurisdiction, place_core, unit_family
from triage.classify.heads import PATH_SEPARATOR, merge_rare_paths, path_label
from triage.pipeline import Triager

REPO = Path(__file__).resolve().parent.parent


def test_rare_paths_merge_into_their_parent() -> None:
    paths = ["a › x"] * 3 + ["a › y"] + ["a › x › deep"] + ["b"] * 2
    merged, changes = merge_rare_paths(paths, 3)
    assert merged == ["a › x"] * 3 + ["a"] + ["a › x"] + ["b"] * 2
    assert changes == {"a › y": "a", "a › x › deep": "a › x"}
    assert path_label(["a", "x", ""]) == "a › x" and path_label(["a", "", "z"]) == "a"


def test_unit_families_and_places() -> None:
    districts = ["琼山区", "龙华区"]
    assert unit_family("龙华区城管局", districts) == ("{区}城管局", "龙华区")
    assert unit_family("琼山区城市管理行政执法局", districts) == ("{区}城管局", "琼山区")
    assert unit_family("海口市龙华区市政维修管理中心", districts) == ("{区}市政维修管理中心", "龙华区")
    assert unit_family("市公安局", districts) == ("市公安局", None)
    assert place_core("金贸街道办事处") == "金贸" and place_core("城西镇人民政府") == "城西"


def test_jurisdiction_from_fields_text_and_places() -> None:
    units = ["龙华区城管局", "美兰区城管局", "龙华区金贸街道办", "市公安局"]
    rows = [{"辖区": "美兰区", "镇街": "白龙街道办事处"}] * 2
    j = learn_jurisdiction(units, rows, district_column="辖区", place_columns=["镇街"])
    assert j.districts == ["美兰区", "龙华区"]
    assert j.places == {"白龙": "美兰区", "金贸": "龙华区"}
    assert j.locate("路边摆摊", {"辖区": "美兰区"})[0] == "美兰区"
    district, why = j.locate("龙华区某路口摆摊", {})
    assert district == "龙华区" and "龙华区" in why
    district, why = j.locate("金贸街道有人占道经营", None)
    assert district == "龙华区" and "金贸街道" in why
    assert j.locate("路边摆摊", {}) == (None, "")
    # the compiled patterns are rebuilt after unpickling
    import pickle

    assert pickle.loads(pickle.dumps(j)).locate("白龙社区门口", {})[0] == "美兰区"
    assert isinstance(j, Jurisdiction)


@pytest.fixture(scope="module")
def city_model(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("heads")
    data = write_export(tmp / "export.csv", export_rows(), "gbk")
    opts = TrainOptions(
        data=data, text_cols=["标题", "内容"], label_cols=["一级", "二级"], out=tmp / "model",
        department_col="单位", type_col="类型", not_a_department=["其他单位", "省级单位"],
        split_by_time="时间", holdout=0.25, id_col="编号", district_col="辖区", place_cols=["镇街"],
        baseline=False, params={"word_min_df": 1, "char_min_df": 1},
    )  # fmt: skip
    run_training(opts, echo=lambda _: None, warn=lambda _: None)
    return tmp / "model"


def test_bundle_round_trip_keeps_heads(city_model) -> None:
    bundle = load_bundle(city_model)
    assert bundle.hierarchy is not None and bundle.request_type is not None
    assert bundle.hierarchy.featurizer is bundle.category  # one featurisation serves every head
    assert bundle.department.featurizer is bundle.category
    assert bundle.metadata["model_version"].startswith("cat-")
    assert bundle.request_type.urgent_labels == frozenset({"紧急类"})


def test_category_path_agrees_with_the_first_level(city_model) -> None:
    bundle = load_bundle(city_model)
    from triage.text.tokenizer import tokenize

    docs = [tokenize(t) for t in ("路边摆摊占道经营", "公租房申请条件", "有人打架斗殴")]
    for first in bundle.category.classes_:
        for scores in bundle.hierarchy.paths(docs, [str(first)] * len(docs), k=3):
            assert all(s.path[0] == first for s in scores)
            assert abs(sum(s.probability for s in scores) - 1) < 1e-6 or len(scores) == 3


def test_pipeline_fills_the_heads(city_model) -> None:
    triager = Triager.load(city_model)
    r = triager.triage("红岭街道路边有人摆摊占道经营，影响通行", fields={"辖区": "西山区"})
    assert r.category_path and r.category_path[0] == r.category
    assert PATH_SEPARATOR not in "".join(r.category_path)
    assert r.department_top_k[0][0] == "西山区城管局" and "西山区" in r.department_reason
    if r.route_reason["source"] == "rule":  # the shipped routing file's street-vendor rule wins
        assert "路由规则" in r.department_reason and r.department_confidence is None
    else:
        assert r.department == "西山区城管局"
    plain = triager.triage("咨询公租房申请条件")  # no rule: the unit the history names, by name
    assert plain.department == plain.department_top_k[0][0] == "市住建局"
    assert plain.department_confidence == plain.department_top_k[0][1]
    assert r.request_type == "投诉类" and 0 < r.request_type_probability <= 1
    urgent = triager.triage("有人打架斗殴请速出警")
    assert urgent.request_type == "紧急类" and urgent.priority == "urgent"
    assert urgent.route_reason.get("priority_from") == "request_type" or urgent.priority == "urgent"
    many = triager.triage_many(["公租房排队进度如何查询", "金沙街道有人违建加盖"], fields=[None, {}])
    assert many[1].department_top_k[0][0] == "西山区城管局"  # 金沙 lies in 西山区
    assert all(u not in ("其他单位", "省级单位") for r in many for u, _ in r.department_top_k)


def test_tipdm_bundle_has_no_heads() -> None:
    triager = Triager.load(REPO / "models" / "category")
    r = triager.triage("小区楼下垃圾堆积很久没人清理，臭气熏天")
    assert r.category and r.department
    assert r.category_path == [] and r.request_type is None and r.department_top_k == []
    assert r.department_reason == "" and r.department_confidence is None
