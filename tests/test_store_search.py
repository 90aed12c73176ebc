"""Case search by number, words, address and phone (issue #13) on SQLite and PostgreSQL.

The words go through each database's own full-text index (FTS5 / GIN tsvector); these tests
check what a user sees: the right cases, scoped, and never a case found through a number that
is only in the (masked) text.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from triage.store import fulltext
from triage.store.errors import ValidationError
from triage.store.models import Case
from triage.store.search import CaseFilter, CaseScope

TEXTS = {
    "noise": ("工地夜间施工噪音扰民，晚上十一点以后还在作业。", "幸福路12号", "138 0013 8000", "G001"),
    "garbage": ("小区门口垃圾桶满了没人清运，气味很大。", "阳光小区3栋", "+86 13900139000", "G002"),
    "wages": ("公司拖欠工资三个月，联系电话13700137000，希望劳动监察介入。", "东风路8号", None, "G001"),
}


@pytest.fixture
def cases(case_service) -> dict[str, Case]:
    out = {}
    for key, (text, address, contact, grid) in TEXTS.items():
        out[key] = case_service.submit(text, address=address, reporter_contact=contact, grid_code=grid)
    return out


def _nos(case_service, **kw) -> set[str]:
    scope = kw.pop("scope", None)
    return {c.case_no for c in case_service.search(CaseFilter(**kw), scope)}


def test_words_of_the_text_and_address(case_service, cases) -> None:
    assert _nos(case_service, q="噪音") == {cases["noise"].case_no}
    assert _nos(case_service, q="施工 噪音") == {cases["noise"].case_no}  # every word
    assert _nos(case_service, q="垃圾桶") == {cases["garbage"].case_no}
    assert _nos(case_service, q="阳光小区") == {cases["garbage"].case_no}  # address
    assert _nos(case_service, q="东风路") == {cases["wages"].case_no}
    assert _nos(case_service, q="噪音 工资") == set()
    assert _nos(case_service, q="火星") == set()


def test_case_number_and_its_leading_digits(case_service, cases) -> None:
    no = cases["garbage"].case_no
    assert _nos(case_service, q=no) == {no}
    assert _nos(case_service, q=no[:8]) == {c.case_no for c in cases.values()}  # that day's cases


def test_phone_is_exact_and_ignores_formatting(case_service, cases) -> None:
    assert _nos(case_service, phone="13800138000") == {cases["noise"].case_no}
    assert _nos(case_service, phone="138-0013-8000") == {cases["noise"].case_no}
    assert _nos(case_service, phone="13900139000") == {cases["garbage"].case_no}  # stored with +86
    assert _nos(case_service, phone="1380013800") == set()  # a prefix is not a match
    with pytest.raises(ValidationError) as info:
        _nos(case_service, phone="abc")
    assert info.value.field == "phone"


def test_numbers_in_the_text_are_not_searchable(case_service, cases) -> None:
    """The word index holds the masked text: a phone written in a message does not find it."""
    assert _nos(case_service, q="13700137000") == set()
    assert _nos(case_service, phone="13700137000") == set()


def test_scope_applies_to_search(case_service, cases) -> None:
    grid1 = CaseScope(grids=("G001",))
    assert _nos(case_service, q="噪音", scope=grid1) == {cases["noise"].case_no}
    assert _nos(case_service, q="垃圾桶", scope=grid1) == set()
    assert _nos(case_service, phone="13900139000", scope=grid1) == set()
    assert _nos(case_service, q="噪音", scope=CaseScope(department_code="nobody")) == set()


@pytest.mark.parametrize(
    ("q", "code"), [("   ", "empty"), ("，。！", "no_words"), ("的", "no_words"), ("词" * 101, "too_long")]
)
def test_bad_queries_name_the_field(case_service, q: str, code: str) -> None:
    with pytest.raises(ValidationError) as info:
        case_service.search(CaseFilter(q=q))
    assert info.value.field == "q" and info.value.code == code


def test_fulltext_objects_follow_inserts_updates_and_backfill(case_service, cases) -> None:
    """The index is in step after an in-place update (triggers on SQLite) and a rebuild."""
    db = case_service.db
    noise = cases["noise"]
    with db.session(write=True) as session:
        case = session.get(Case, noise.id)
        assert case is not None
        case.address = "锦绣花园5号"
        fulltext.index_cases(session, [case], replace=True)
    assert _nos(case_service, q="锦绣花园") == {noise.case_no}
    assert _nos(case_service, q="幸福路") == set()
    with db.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM case_words"))
        assert fulltext.backfill(conn) == 3
    assert _nos(case_service, q="锦绣花园") == {noise.case_no}
    assert _nos(case_service, q="垃圾桶") == {cases["garbage"].case_no}


def test_filters_priority_and_source(case_service, cases) -> None:
    assert _nos(case_service, source="web") == {c.case_no for c in cases.values()}
    assert _nos(case_service, source="hotline") == set()
    urgent = {c.case_no for c in cases.values() if c.priority == "urgent"}
    assert _nos(case_service, priority="urgent") == urgent


def test_words_and_keys() -> None:
    words = fulltext.search_words("标题", "噪音扰民，请处理！", "幸福路12号").split()
    assert "噪音" in words and "12" in words and "，" not in words and "请" not in words
    assert fulltext.contact_key("0086 138-0013-8000") == "13800138000"
    assert fulltext.contact_key("someone@example.org") is None
    assert fulltext.query_words("施工噪音！") == ["施工", "噪音"]
