"""Chinese word search over cases with each database's own full-text index (issue #13).

Why a word column at all: neither SQLite's FTS5 nor PostgreSQL's text search segments Chinese,
so the words are cut here, once, with jieba (the governance dictionary of
:mod:`triage.text.tokenizer`, ``cut_for_search`` so that "噪音扰民" is also found by "噪音") and
stored space-separated in ``case_words`` (:class:`triage.store.models.search.CaseWords`). The
database then only has to index whitespace-separated tokens, which both do well:

* SQLite: an FTS5 table ``case_fts`` with external content ``case_words``, kept in step by three
  triggers on ``case_words`` (so every write path that touches ``case_words`` keeps the index right);
* PostgreSQL: a stored generated column ``words_tsv = to_tsvector('simple', words)`` with a GIN
  index, queried with ``plainto_tsquery('simple', …)``.

The words come from the title, the *masked* text and the address: what every reader of a case may
see, so a word search never finds a case through a phone or ID number written in the message.
The phone search is a separate, exact lookup on ``contact_key`` (the reporter's contact as digits).

This module cuts the words, keeps them for new and changed cases and compiles the match
expression per dialect; :mod:`triage.store.fulltext_schema` holds the DDL of migrations u002/u004,
the backfill and the Alembic filter that hides the FTS5 objects from autogenerate.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlmodel import Session, col

from triage.store.errors import ValidationError
from triage.store.models import Case
from triage.store.models.search import CaseWords
from triage.text.tokenizer import get_tokenizer, stopwords

FTS_TABLE = "case_fts"  # SQLite FTS5 table over case_words (plus its shadow tables case_fts_*)
PG_COLUMN = "words_tsv"  # PostgreSQL: to_tsvector('simple', words), a stored generated column
MAX_QUERY_CHARS = 100  # a search box, not a document: longer q is refused (422, field q)
MAX_QUERY_WORDS = 12
_CASE_NO_RE = re.compile(r"\d{8,20}")  # a case number or its first digits (YYYYMMDD…)
_PHONE_RE = re.compile(r"\+?[\d\s\-()]{5,40}")
_PLAIN_RE = re.compile(r"[0-9a-z\u4e00-\u9fff]+")  # a token FTS5's unicode61 keeps exactly as stored
_TOKEN_RE = re.compile(r"\w+")  # a token keeps letters, digits or CJK; punctuation runs are dropped
# the case's sort key and scope columns, copied into case_words (u004) so a search pages inside it
SCOPE_COLUMNS = ("created_at", "department_code", "grid_code", "submitted_by")


# -- words ------------------------------------------------------------------------------------------
def _normal(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def _content(tokens: Iterable[str]) -> list[str]:
    stop = stopwords()
    out: list[str] = []
    for token in tokens:
        for part in _TOKEN_RE.findall(token):  # "3.5" → "3", "5": as both databases would split it
            if part not in stop and part.strip("_"):
                out.append(part)
    return out


def search_words(*parts: str | None) -> str:
    """The stored words of a case: jieba search tokens of ``parts``, each once, space-separated."""
    text = _normal(" ".join(p for p in parts if p))
    tokens = _content(get_tokenizer().cut_for_search(text, HMM=False))
    return " ".join(dict.fromkeys(tokens))


def case_words(case: Any) -> str:
    """Words of a case (a ``Case`` or a row with the same attributes)."""
    return search_words(case.title, case.text_masked, case.address)


def query_words(q: str) -> list[str]:
    """Tokens of a search box entry (plain jieba cut: the stored side has the sub-words too)."""
    words = list(dict.fromkeys(_content(get_tokenizer().lcut(_normal(q), HMM=False))))
    return words[:MAX_QUERY_WORDS]


def contact_key(value: str | None) -> str | None:
    """A phone number as digits (``+86``/``0086`` dropped) for exact lookup; None if not a phone."""
    if not value:
        return None
    text = unicodedata.normalize("NFKC", value).strip()
    if not _PHONE_RE.fullmatch(text):
        return None
    digits = re.sub(r"\D", "", text)
    if digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits if 5 <= len(digits) <= 20 else None


def check_query(q: str) -> str:
    """``q`` stripped, or a ValidationError naming the field when it cannot be searched."""
    q = q.strip()
    if not q:
        raise ValidationError("q is empty; type a case number, an address or words", code="empty", field="q")
    if len(q) > MAX_QUERY_CHARS:
        raise ValidationError(
            f"q is too long ({len(q)} characters; the limit is {MAX_QUERY_CHARS})", code="too_long", field="q"
        )
    if not _CASE_NO_RE.fullmatch(q) and not query_words(q):
        raise ValidationError(
            "q has no searchable words (only punctuation or common words)", code="no_words", field="q"
        )
    return q


def check_phone(phone: str) -> str:
    """The lookup key of a phone search, or a ValidationError naming the field."""
    key = contact_key(phone)
    if key is None:
        raise ValidationError(
            "phone must be a telephone number (5 to 20 digits, spaces, '-' or a leading '+')",
            code="bad_phone",
            field="phone",
        )
    return key


# -- the match expressions ----------------------------------------------------------------------
class _CaseIdsMatching(sa.sql.expression.ColumnElement[bool]):
    """``cases.id IN (ids whose words match ∪ ids whose number starts with q)``, compiled per dialect.

    One IN over a UNION ALL rather than ``… OR case_no = q``: an OR with a subquery makes
    PostgreSQL test every case against it; the union lets both planners start from the index.
    """

    type = sa.Boolean()
    inherit_cache = False  # the SQL text depends on which branches exist; compiling is cheap

    def __init__(self, words: Sequence[str], case_no: str | None) -> None:
        self.words = list(words)
        self.case_no = case_no


def _branches(element: _CaseIdsMatching, compiler: SQLCompiler, words_select: str, **kw: Any) -> str:
    parts: list[str] = []
    if element.words:
        parts.append(words_select)
    if element.case_no:
        lo = compiler.process(sa.bindparam(None, element.case_no, type_=sa.String), **kw)
        hi = compiler.process(sa.bindparam(None, element.case_no + ":", type_=sa.String), **kw)  # ':' > '9'
        parts.append(f"SELECT id FROM cases WHERE case_no >= {lo} AND case_no < {hi}")
    if not parts:
        return "1 = 0"
    return f"cases.id IN ({' UNION ALL '.join(parts)})"


@compiles(_CaseIdsMatching, "sqlite")
def _sqlite_match(element: _CaseIdsMatching, compiler: SQLCompiler, **kw: Any) -> str:
    expr = " ".join('"' + w.replace('"', '""') + '"' for w in element.words)  # every word (AND)
    match = compiler.process(sa.bindparam(None, expr, type_=sa.Text), **kw)
    return _branches(
        element, compiler, f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH {match}", **kw
    )


@compiles(_CaseIdsMatching, "postgresql")
def _pg_match(element: _CaseIdsMatching, compiler: SQLCompiler, **kw: Any) -> str:
    query = compiler.process(sa.bindparam(None, " ".join(element.words), type_=sa.Text), **kw)
    select = f"SELECT case_id FROM case_words WHERE {PG_COLUMN} @@ plainto_tsquery('simple', {query})"
    return _branches(element, compiler, select, **kw)


@compiles(_CaseIdsMatching)
def _unsupported(element: _CaseIdsMatching, compiler: SQLCompiler, **kw: Any) -> str:
    raise NotImplementedError(f"case word search supports sqlite and postgresql, not {compiler.dialect.name}")


class _RowMatches(sa.sql.expression.ColumnElement[Any]):
    """The ``case_words`` row matches ``q`` (every word, or its case number starts with ``q``).

    ``probe``: a test of this one row, for a short walk; else (SQLite) membership in the FTS5
    result, built once. SQLite's probe is a token test on the stored words (``instr`` on the
    space-separated tokens, ~1 µs against ~90 µs for an FTS5 ``MATCH … AND rowid =``) when every
    query word is plain (ASCII letters/digits, CJK), where both tokenizers agree; PostgreSQL's is the
    row's own stored tsvector. Typed NullType: a Boolean would be compared ``= 1`` on SQLite,
    hiding the IN from its planner."""

    type = sa.types.NullType()
    inherit_cache = False

    def __init__(self, words: Sequence[str], case_no: str | None, probe: bool) -> None:
        self.words = list(words)
        self.case_no = case_no
        self.probe = probe


def _row_branches(element: _RowMatches, compiler: SQLCompiler, word_test: str, **kw: Any) -> str:
    parts = [word_test] if element.words else []
    if element.case_no:
        lo = compiler.process(sa.bindparam(None, element.case_no, type_=sa.String), **kw)
        hi = compiler.process(sa.bindparam(None, element.case_no + ":", type_=sa.String), **kw)
        parts.append(f"case_words.case_id IN (SELECT id FROM cases WHERE case_no >= {lo} AND case_no < {hi})")
    return f"({' OR '.join(parts)})" if parts else "1 = 0"


@compiles(_RowMatches, "sqlite")
def _sqlite_row(element: _RowMatches, compiler: SQLCompiler, **kw: Any) -> str:
    if element.probe and all(_PLAIN_RE.fullmatch(w) for w in element.words):
        tests = []
        for word in element.words:
            token = compiler.process(sa.bindparam(None, f" {word} ", type_=sa.Text), **kw)
            tests.append(f"instr(' ' || case_words.words || ' ', {token}) > 0")
        return _row_branches(element, compiler, " AND ".join(tests), **kw)
    expr = " ".join('"' + w.replace('"', '""') + '"' for w in element.words)
    match = compiler.process(sa.bindparam(None, expr, type_=sa.Text), **kw)
    if element.probe:
        test = (
            f"EXISTS (SELECT 1 FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH {match} "
            f"AND {FTS_TABLE}.rowid = case_words.case_id)"
        )
    else:
        test = f"case_words.case_id IN (SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH {match})"
    return _row_branches(element, compiler, test, **kw)


@compiles(_RowMatches, "postgresql")
def _pg_row(element: _RowMatches, compiler: SQLCompiler, **kw: Any) -> str:
    query = compiler.process(sa.bindparam(None, " ".join(element.words), type_=sa.Text), **kw)
    probe = f"case_words.{PG_COLUMN} @@ plainto_tsquery('simple', {query})"
    return _row_branches(element, compiler, probe, **kw)


def row_matches(q: str, *, probe: bool = False) -> sa.ColumnElement[Any]:
    """WHERE condition on ``CaseWords`` (same meaning as :func:`matches`), for walking the word
    table newest first along its own (scope, created_at) index."""
    q = q.strip()
    return _RowMatches(query_words(q), q if _CASE_NO_RE.fullmatch(q) else None, probe)


def is_case_number(q: str) -> bool:
    """``q`` is a case number or its leading digits (a day): few matches, whatever the words."""
    return bool(_CASE_NO_RE.fullmatch(q.strip()))


def matches(q: str) -> sa.ColumnElement[bool]:
    """WHERE condition on ``Case`` for a search box entry: case number (or its leading digits),
    or every word of ``q`` among the case's title, masked text and address."""
    q = q.strip()
    return _CaseIdsMatching(query_words(q), q if _CASE_NO_RE.fullmatch(q) else None)


def matching_ids(session: Session, q: str, cap: int) -> list[int] | None:
    """Ids of the cases ``q`` finds, straight from the full-text index; None if more than ``cap``.

    Why: "newest first among the matches" has two good plans, and the planners cannot tell them
    apart well. Few matches: fetch those rows and sort them (the caller passes these ids). Many
    matches: walk the cases newest first and stop at the page's end (:func:`matches`, when this
    returns None): a word in 1 case of 10 fills a page of 50 after ~500 rows.
    """
    q = check_query(q)
    words, case_no = query_words(q), q if _CASE_NO_RE.fullmatch(q) else None
    branches: list[sa.Select[Any]] = []
    if words and session.get_bind().dialect.name == "sqlite":
        expr = " ".join('"' + w.replace('"', '""') + '"' for w in words)
        match = sa.text(f"{FTS_TABLE} MATCH :words").bindparams(words=expr)
        branches.append(sa.select(sa.literal_column("rowid")).select_from(sa.table(FTS_TABLE)).where(match))
    elif words:
        tsq = sa.text(f"{PG_COLUMN} @@ plainto_tsquery('simple', :words)")
        branches.append(sa.select(col(CaseWords.case_id)).where(tsq.bindparams(words=" ".join(words))))
    if case_no:
        number = col(Case.case_no)
        branches.append(sa.select(col(Case.id)).where(number >= case_no, number < case_no + ":"))
    stmt = branches[0] if len(branches) == 1 else sa.union_all(*branches)
    ids = [row[0] for row in session.execute(stmt.limit(cap + 1))]
    return ids if len(ids) <= cap else None


def phone_matches(phone: str) -> sa.ColumnElement[bool]:
    """WHERE condition on ``Case``: the reporter's contact is exactly this phone number."""
    key = check_phone(phone)
    ids = sa.select(col(CaseWords.case_id)).where(col(CaseWords.contact_key) == key)
    return col(Case.id).in_(ids)


# -- keeping the index ------------------------------------------------------------------------------
def words_row(case: Any, scope: bool = True) -> dict[str, Any]:
    row = {"case_id": case.id, "words": case_words(case), "contact_key": contact_key(case.reporter_contact)}
    if scope:
        row.update({c: getattr(case, c) for c in SCOPE_COLUMNS})
    return row


def index_cases(session: Session, cases: Iterable[Case], *, replace: bool = False) -> None:
    """Store the words of ``cases`` (flushed: they have ids) in the caller's transaction.

    ``replace`` for cases indexed before (title, text, address or contact changed); new cases
    skip the delete. The FTS5 triggers / the GIN index follow on their own.
    """
    rows = [words_row(c) for c in cases if c.id is not None]
    if not rows:
        return
    table = CaseWords.__table__  # type: ignore[attr-defined]
    if replace:
        session.execute(sa.delete(table).where(table.c.case_id.in_([r["case_id"] for r in rows])))
    session.execute(sa.insert(table), rows)
