"""End-to-end pipeline on the shipped model: one result object filled by named stages."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from triage.errors import InputError
from triage.pipeline import Triager
from triage.result import TriageResult

ELEVATOR = (
    "我们小区是九十年代的老旧小区，六楼老人上下楼困难，想申请加装电梯，请问需要哪些手续，住建部门怎么审批？"
)
NOISE = "楼下烧烤店每天晚上营业到凌晨两点，油烟和噪音扰民严重，多次投诉无果，希望有关部门管一管。"
SCHOOL = "孩子今年小学入学，户口在学区内但学校说名额已满，让我们去很远的学校就读，教育局能否协调入学？"


@pytest.fixture(scope="module")
def triager() -> Triager:
    return Triager.load()


def test_triage_fills_every_field(triager: Triager) -> None:
    r = triager.triage(ELEVATOR)
    assert isinstance(r, TriageResult)
    assert r.category and r.model_category and r.department and r.department_code
    assert r.level in {"网格", "社区", "街道", "区", "市"}
    assert r.deadline_hours > 0
    assert 0.0 < r.confidence <= 1.0
    assert r.top_k[0].label == r.model_category and len(r.top_k) >= 2
    assert r.top_k[0].probability >= r.top_k[1].probability
    assert r.explanation and all(isinstance(t, str) for t in r.explanation)
    assert r.route_reason.get("source") in {"rule", "model", "department_model"}
    assert r.model_version == triager.model_version != "unknown"
    assert r.duplicates == []
    as_dict = r.to_dict()
    assert "tokens" not in as_dict and as_dict["department"] == r.department


def test_categories_are_sensible(triager: Triager) -> None:
    assert triager.triage(SCHOOL).model_category == "教育文体"
    assert triager.triage(ELEVATOR).model_category == "城乡建设"


def test_triage_many_matches_triage(triager: Triager) -> None:
    texts = [ELEVATOR, NOISE, SCHOOL]
    batch = triager.triage_many(texts)
    single = [triager.triage(t) for t in texts]
    for b, s in zip(batch, single, strict=True):
        assert isinstance(b, TriageResult)
        assert b.to_dict() == s.to_dict()


def test_bad_input_raises_with_field(triager: Triager) -> None:
    with pytest.raises(InputError) as info:
        triager.triage("   ")
    assert info.value.code == "empty_text" and info.value.field == "text"
    with pytest.raises(InputError) as info:
        triager.triage_many([NOISE, ""])
    assert info.value.field == "texts[1]"


def test_triage_many_can_collect_errors(triager: Triager) -> None:
    out = triager.triage_many([NOISE, "   ", SCHOOL], skip_invalid=True)
    assert isinstance(out[0], TriageResult) and isinstance(out[2], TriageResult)
    assert isinstance(out[1], InputError) and out[1].code == "empty_text"


def test_the_model_abstains_on_text_without_chinese(triager: Triager) -> None:
    out = triager.triage_many([NOISE, "no chinese here 👍", SCHOOL])
    abstained = out[1]
    assert isinstance(abstained, TriageResult) and abstained.masked_text == "no chinese here 👍"
    assert (abstained.category, abstained.department_code, abstained.top_k) == ("", "", [])
    assert abstained.needs_review and abstained.route_reason["source"] == "abstain"
    assert abstained.route_reason["message"] == "无中文内容，需人工分拨"
    assert out[0].category and out[2].category  # the others are classified as usual


def test_pii_is_masked_in_the_result(triager: Triager) -> None:
    r = triager.triage(NOISE + "我的电话13812345678")
    assert "13812345678" in r.text and "13812345678" not in r.masked_text


def test_duplicates_come_from_the_index() -> None:
    triager = Triager.load()
    triager.duplicate_index.add("2026112200001", NOISE, datetime.now(UTC))
    again = "楼下烧烤店每天晚上营业到凌晨两点，油烟和噪音扰民严重，多次投诉都没有结果，希望有关部门管一管！"
    r = triager.triage(again)
    assert r.duplicates and r.duplicates[0].case_id == "2026112200001" and r.duplicates[0].score > 0.6
    assert triager.triage(SCHOOL).duplicates == []


def test_stages_are_named_and_replaceable() -> None:
    triager = Triager.load()
    assert triager.stage_names == ["tokenize", "classify", "route", "duplicates"]

    class Shout:
        name = "duplicates"

        def __call__(self, results: list[TriageResult]) -> None:
            for r in results:
                r.priority = "urgent"

    triager.replace_stage("duplicates", Shout())
    assert triager.triage(SCHOOL).priority == "urgent"
    triager.remove_stage("duplicates")
    assert triager.stage_names == ["tokenize", "classify", "route"]


def test_low_confidence_needs_review() -> None:
    from triage.config import Settings

    strict = Triager.load(settings=Settings(review_threshold=1.01))
    assert strict.triage(SCHOOL).needs_review is True
    lenient = Triager.load(settings=Settings(review_threshold=0.0))
    r = lenient.triage(SCHOOL)
    assert r.needs_review is (r.category != r.model_category)
