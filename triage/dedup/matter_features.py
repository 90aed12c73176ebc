"""The same-matter scorer's features for a message against candidate cases, and the reason shown.

One row per candidate, columns as in :data:`triage.dedup.matter_score.FEATURES`: idf-weighted word
cosine, shared fine place (and how specific its name is), shared area, share of the message's
problem words (not place words) the case has, category agreement, the time gap, the cosine of
the two titles, and whether both name places but none in common. The :class:`Detail` kept beside
them explains a match in Chinese.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TypedDict

import numpy as np
from numpy.typing import NDArray

from triage.dedup.matter_score import copy_feature, reason_text
from triage.dedup.matter_terms import NONE, MatterDoc, MatterVocabulary

__all__ = ["CandidateRows", "Detail", "Query", "features", "reason"]

_DAY = 86_400.0


@dataclass(slots=True)
class Query:
    """The message's side: its document and its best terms, places and area as vocabulary ids."""

    doc: MatterDoc
    terms: NDArray[np.uint32]
    tf: NDArray[np.uint8]
    places: list[int]
    area: int


@dataclass(slots=True)
class CandidateRows:
    """What the index stores of each candidate case, one row per candidate."""

    terms: NDArray[np.uint32]  # (n, terms per case), NONE where empty
    tf: NDArray[np.uint8]
    places: NDArray[np.int32]  # (n, PLACES_PER_CASE), -1 where empty
    area: NDArray[np.int32]
    category: NDArray[np.int16]
    created: NDArray[np.float64]  # epoch seconds, NaN: undated
    lead: NDArray[np.uint32]  # (n, LEAD_TERMS), NONE where empty


class Detail(TypedDict):
    """Per-candidate facts behind the features, kept to explain a match in words (:func:`reason`)."""

    word: NDArray[np.float64]  # word cosine per candidate
    place: NDArray[np.int64]  # id of the longest shared fine place, -1 if none
    area: NDArray[np.int64]  # id of the shared area when no fine place is shared, -1 otherwise
    days: NDArray[np.float64]  # signed age in days (NaN: undated)
    category: NDArray[np.int64]  # the shared category id, -1 otherwise
    match: NDArray[np.bool_]  # (candidate, term slot): a shared problem term
    terms: NDArray[np.int64]  # (candidate, term slot): the candidate's term ids (0 where empty)
    idf: NDArray[np.float64]  # idf of ``terms``
    lead: NDArray[np.uint32]  # the candidates' lead word ids
    q_lead: set[int]  # the message's lead word ids
    names: tuple[str, ...]  # place names the message mentions


def features(
    vocab: MatterVocabulary, query: Query, rows: CandidateRows, ref: float
) -> tuple[NDArray[np.float64], Detail]:
    """Feature matrix (one row per candidate, columns as in ``matter_score.FEATURES``) and its detail."""
    doc = query.doc
    n = len(rows.created)
    qi = query.terms.astype(np.int64)
    q_w = (1.0 + np.log(np.maximum(query.tf, 1))) * vocab.idf(qi) if len(qi) else np.empty(0)
    q_norm = math.sqrt(float((q_w**2).sum())) or 1.0
    names = doc.places.fine + doc.places.areas
    # place words and single characters are not "the problem"
    is_place_term = np.array(
        [len(w) < 2 or any(w in p for p in names) for w in (vocab.words[i] for i in qi.tolist())],
        dtype=bool,
    )
    d_terms = rows.terms.astype(np.int64)
    valid = d_terms != int(NONE)
    safe = np.where(valid, d_terms, 0)
    d_w = np.where(valid, (1.0 + np.log(np.maximum(rows.tf, 1))) * vocab.idf(safe), 0.0)
    d_norm = np.sqrt((d_w**2).sum(axis=1))
    d_norm[d_norm == 0] = 1.0
    order = np.argsort(qi)
    sq = qi[order]
    pos = np.clip(np.searchsorted(sq, safe), 0, max(len(sq) - 1, 0))
    match = valid & (sq[pos] == safe) if len(sq) else np.zeros_like(valid)
    qw_at = np.where(match, q_w[order][pos] if len(sq) else 0.0, 0.0)
    word = (qw_at * d_w).sum(axis=1) / (q_norm * d_norm)
    q_idf = vocab.idf(qi) if len(qi) else np.empty(0)
    problem_mask = ~is_place_term[order][pos] if len(sq) else np.zeros_like(valid)
    shared_problem = np.where(match & problem_mask, q_idf[order][pos] if len(sq) else 0.0, 0.0).sum(axis=1)
    total_problem = float(q_idf[~is_place_term].sum()) if len(qi) else 0.0
    problem = shared_problem / total_problem if total_problem > 0 else np.zeros(n)
    d_places = rows.places
    place_hit = np.full(n, -1, dtype=np.int64)
    for p in sorted(query.places, key=lambda p: -len(vocab.place_names[p])):
        hit = (d_places == p).any(axis=1) & (place_hit < 0)
        place_hit[hit] = p
    place = (place_hit >= 0).astype(float)
    conflict = ((d_places >= 0).any(axis=1) & (place_hit < 0)).astype(float) if query.places else np.zeros(n)
    place_len = np.array(
        [min(1.0, len(vocab.place_names[p]) / 8.0) if p >= 0 else 0.0 for p in place_hit.tolist()]
    )
    d_area = rows.area
    area = ((d_area >= 0) & (d_area == query.area) & (place == 0)).astype(float)
    q_cat = vocab.category_of(doc.category, learn=False)
    d_cat = rows.category.astype(np.int64)
    category = np.where((q_cat == -1) | (d_cat == -1), 0.5, (d_cat == q_cat).astype(float))
    days_signed = (ref - rows.created) / _DAY
    days = np.log1p(np.abs(np.nan_to_num(days_signed, nan=0.0)))
    lead = _lead_cosine(vocab, doc, rows.lead)
    copy = copy_feature(word)
    feats = np.column_stack(
        [word, place, place_len, area, problem, category, days, copy, lead, place * lead, conflict]
    )
    detail: Detail = {
        "word": word,
        "place": place_hit,
        "area": np.where(area > 0, d_area, -1),
        "days": days_signed,
        "category": np.where(category == 1.0, q_cat, -1),
        "match": match & problem_mask,
        "terms": safe,
        "idf": vocab.idf(safe),
        "lead": rows.lead,
        "q_lead": set(vocab.lead_ids(doc.lead).tolist()),
        "names": names,
    }
    return feats, detail


def _lead_cosine(vocab: MatterVocabulary, doc: MatterDoc, leads: NDArray[np.uint32]) -> NDArray[np.float64]:
    """idf-weighted cosine of the two lead (title) word sets."""
    q = vocab.lead_ids(doc.lead).astype(np.int64)
    d = leads.astype(np.int64)
    valid = d != int(NONE)
    if len(q) == 0:
        return np.zeros(len(leads))
    safe = np.where(valid, d, 0)
    d_idf = np.where(valid, vocab.idf(safe), 0.0)
    q_idf = vocab.idf(q)
    hit = valid & np.isin(safe, q)
    dot = np.where(hit, d_idf**2, 0.0).sum(axis=1)
    norm = np.sqrt((d_idf**2).sum(axis=1)) * math.sqrt(float((q_idf**2).sum()))
    return np.where(norm > 0, dot / np.where(norm > 0, norm, 1.0), 0.0)


def reason(vocab: MatterVocabulary, detail: Detail, j: int) -> str:
    """Why candidate ``j`` is the same matter, in Chinese: place, shared words, category, time gap."""
    p, a, c = int(detail["place"][j]), int(detail["area"][j]), int(detail["category"][j])
    # the words both titles use say best what the matter is; then the body's rarest shared words
    lead = [int(t) for t in detail["lead"][j] if int(t) in detail["q_lead"]]
    lead = sorted(lead, key=lambda t: -vocab.term_idf(t))
    terms = [
        w for w in (vocab.words[t] for t in lead) if len(w) > 1 and not any(w in n for n in detail["names"])
    ]
    shared = np.flatnonzero(detail["match"][j])
    for b in shared[np.argsort(-detail["idf"][j][shared], kind="stable")]:
        word = vocab.words[int(detail["terms"][j][b])]
        if len(terms) < 2 and word not in terms:
            terms.append(word)
    terms = terms[:2]
    return reason_text(
        place=vocab.place_names[p] if p >= 0 else None,
        area=vocab.place_names[a] if a >= 0 else None,
        terms=terms,
        category=vocab.category_names[c] if c >= 0 else None,
        word=float(detail["word"][j]),
        days=float(detail["days"][j]),
    )
