"""Case search by number, words, address and phone (issue #13) on SQLite and PostgreSQL.

The words go through each database's own full-text index (FTS5 / GIN tsvector); these tests
check what a user sees: the right cases, scoped, and never a case found through a number that
is only in the (masked) text.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from triage.store import fulltext, fulltext_schema
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
        assert fulltext_schema.backfill(conn) == 3
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


def test_department_change_after_indexing_moves_the_case(case_service, cases) -> None:
    """The word index's copy of the scope follows every write of ``cases`` (trigger, u004): a
    correction at review and a later reassignment, even one made in plain SQL."""
    noise = cases["noise"].case_no
    case_service.correct(noise, "rev", department_code="street")
    assert _nos(case_service, q="噪音", scope=CaseScope(department_code="street")) == {noise}
    with case_service.db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE cases SET department_code = 'housing' WHERE case_no = :n"), {"n": noise})
    assert _nos(case_service, q="噪音", scope=CaseScope(department_code="street")) == set()
    assert _nos(case_service, q="噪音", scope=CaseScope(department_code="housing")) == {noise}
    assert _nos(case_service, q="噪音") == {noise}  # the words stayed (no re-index on SQLite either)
    with case_service.db.engine.connect() as conn:
        copied = conn.execute(
            sa.text(
                "SELECT COUNT(*) FROM case_words w JOIN cases c ON c.id = w.case_id "
                "WHERE w.created_at = c.created_at "
                "AND w.department_code IS NOT DISTINCT FROM c.department_code "
                "AND w.grid_code IS NOT DISTINCT FROM c.grid_code "
                "AND w.submitted_by IS NOT DISTINCT FROM c.submitted_by"
            )
        ).scalar()
    assert copied == len(cases)


@pytest.mark.parametrize("plan", ["newest_probed", "few_matches", "walk"])
def test_word_index_pages_equal_the_cases_table(case_service, monkeypatch, plan: str) -> None:
    """Each plan of a q-only search (newest rows probed, sorted matches, full walk of case_words)
    gives exactly the page the cases table gives (same rows, newest first, id breaking ties),
    scoped and at every offset."""
    from triage.store import search
    from triage.store.lifecycle import CaseStatus

    for i in range(7):
        case_service.submit(f"第{i}号楼电梯故障，噪音很大。", address=f"幸福路{i}号", grid_code=f"G00{i % 2}")
    with case_service.db.engine.begin() as conn:  # ties in created_at: the id decides
        conn.execute(sa.text("UPDATE cases SET created_at = (SELECT MIN(created_at) FROM cases)"))
    if plan != "newest_probed":
        monkeypatch.setattr(search, "WALK_BUDGET", 0)
    if plan == "walk":
        monkeypatch.setattr(search, "FEW_MATCHES", 0)
    every = [str(s) for s in CaseStatus]
    for scope in (None, CaseScope(grids=("G001",)), CaseScope(grids=(), submitted_by="nobody")):
        for offset in (0, 2, 5):
            quick = case_service.search(CaseFilter(q="电梯", limit=3, offset=offset), scope)
            table = case_service.search(CaseFilter(q="电梯", limit=3, offset=offset, status=every), scope)
            assert [c.case_no for c in quick] == [c.case_no for c in table]
    assert len(case_service.search(CaseFilter(q="电梯", limit=50))) == 7


def test_walk_stays_inside_the_word_index(case_service, cases) -> None:
    """The many-matches plan reads case_words only, along (department_code, created_at, case_id)."""
    from triage.store.search import _walk_ids

    db = case_service.db
    stmt = _walk_ids(CaseFilter(q="噪音"), CaseScope(department_code="street"))
    probed = _walk_ids(CaseFilter(q="噪音"), CaseScope(department_code="street"), 100, db.dialect)
    for each in (stmt, probed):  # no join, no probe of the case rows
        assert " cases" not in str(each.compile(db.engine)).replace("case_words", "")
    with db.engine.connect() as conn:
        if db.dialect == "postgresql":
            conn.exec_driver_sql("SET enable_seqscan = off")
            conn.exec_driver_sql("SET enable_bitmapscan = off")
        prefix = "EXPLAIN QUERY PLAN " if db.dialect == "sqlite" else "EXPLAIN "
        compiled = stmt.compile(db.engine)
        rows = conn.exec_driver_sql(
            prefix + str(compiled),
            tuple(compiled.params.values()) if db.dialect == "sqlite" else compiled.params,
        ).all()
    plan = " ".join(str(r[-1]) for r in rows)
    assert "ix_case_words_department_created" in plan, plan


def test_probe_of_words_the_tokenizers_may_split(case_service) -> None:
    """A word outside ASCII letters/digits and CJK (here with an accent) is probed through FTS5 on
    SQLite, not by the token test: the newest-rows plan finds what the index finds."""
    from triage.store.lifecycle import CaseStatus

    case = case_service.submit("楼下café晚上噪音很大，影响休息。", address="幸福路3号")
    every = [str(s) for s in CaseStatus]
    table = {c.case_no for c in case_service.search(CaseFilter(q="café", status=every))}
    assert table == {case.case_no}
    assert {c.case_no for c in case_service.search(CaseFilter(q="café"))} == table
