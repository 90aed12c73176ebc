"""The "same matter" duplicate index: candidates from several sources, scored by a fitted model.

Different citizens describe one matter in their own words, so character-trigram overlap misses
them. Each case is kept as a short bag of words — its ``terms_per_case`` best jieba tokens by
tf-idf (ids and counts, never the text) — plus the ids of the places it names, its category and
its date. Candidates for a message come from

* word postings: an inverted index from term to the cases that kept it; a lookup reads at most
  the ``postings_cap`` most recent entries of each of the message's top terms, so its cost stays
  bounded however many cases are indexed (sub-linear, recent cases first — the window is recent);
* place postings: cases naming the same fine place (road, estate, building …);
* optionally the character-trigram MinHash LSH of :class:`triage.dedup.lexical.DuplicateIndex` (copies).

Every candidate is then scored by :class:`triage.dedup.matter_score.MatterScorer` over word similarity,
place, problem terms, category and the time gap, and explained in Chinese.

Memory: ~300-400 bytes per case in each worker (see docs/benchmarks.md); idf is a corpus
statistic over every case ever added since the last rebuild (removals do not change it).
"""

from __future__ import annotations

import math
import threading
import time
from array import array
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from triage.dedup.lexical import DuplicateIndex, _epoch
from triage.dedup.matter_score import MatterScorer, copy_feature, reason_text
from triage.result import DuplicateCandidate
from triage.text.places import PlaceExtractor, Places
from triage.text.tokenizer import tokenize

_DAY = 86_400.0
_NONE = np.uint32(0xFFFFFFFF)
PLACES_PER_CASE = 4
WORD_CANDIDATES = 64  # best word-postings candidates scored per lookup
PLACE_CANDIDATES = 32  # most recent same-place cases scored per lookup
LEAD_TERMS = 8  # title / first-line terms kept per case
LEAD_CHARS = 60  # a first line up to this long is a title; otherwise the first tokens stand for it


def lead_tokens(text: str, tokens: Sequence[str]) -> list[str]:
    """The tokens saying what a message is about: its title line, or its first ``LEAD_TERMS`` tokens."""
    first, sep, _ = text.partition("\n")
    if sep and 0 < len(first) <= LEAD_CHARS:
        return tokenize(first)
    return list(tokens[:LEAD_TERMS])


@dataclass(slots=True)
class MatterDoc:
    """What the index needs of one message (the pipeline has all of it already)."""

    tokens: list[str]
    places: Places
    category: str | None = None
    lead: list[str] = field(default_factory=list)  # tokens of the title / first line: what it is about


def _grow(a: np.ndarray, cap: int, fill: Any) -> np.ndarray:
    out = np.full((cap,) + a.shape[1:], fill, dtype=a.dtype)
    out[: len(a)] = a
    return out


class MatterIndex:
    """Same-matter duplicate index with :class:`~triage.dedup.lexical.DuplicateIndex`'s interface.

    Thread-safe: tokenising and place extraction happen outside the lock.
    """

    def __init__(
        self,
        threshold: float | None = None,
        window_days: int | None = 90,
        *,
        scorer: MatterScorer | None = None,
        extractor: PlaceExtractor | None = None,
        terms_per_case: int = 20,
        postings_cap: int = 2000,
        lexical: bool = False,
    ) -> None:
        self.scorer = scorer or MatterScorer.default()
        threshold = self.scorer.threshold if threshold is None else threshold
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        if window_days is not None and window_days <= 0:
            raise ValueError(f"window_days must be positive or None, got {window_days}")
        if terms_per_case < 4 or postings_cap < 16:
            raise ValueError("need terms_per_case >= 4 and postings_cap >= 16")
        self.threshold = float(threshold)
        self.window_days = window_days
        self.extractor = extractor or PlaceExtractor()
        self.T = terms_per_case
        self.postings_cap = postings_cap
        self.lexical = DuplicateIndex(threshold=0.6, window_days=window_days) if lexical else None
        self._lock = threading.RLock()
        self._reset()

    def _reset(self) -> None:
        self._vocab: dict[str, int] = {}
        self._words: list[str] = []
        self._df = np.zeros(0, dtype=np.int32)
        self._added = 0  # documents ever added (idf's N)
        self._post: dict[int, array] = {}
        self._pvocab: dict[str, int] = {}
        self._pnames: list[str] = []
        self._ppost: dict[int, array] = {}
        self._cvocab: dict[str, int] = {}
        self._cnames: list[str] = []
        self._slot_of: dict[str, int] = {}
        self._ids: list[str | None] = []
        self._free: list[int] = []
        self._created = np.empty(0, dtype=np.float64)
        self._cat = np.empty(0, dtype=np.int16)
        self._area = np.empty(0, dtype=np.int32)
        self._terms = np.empty((0, self.T), dtype=np.uint32)
        self._tf = np.empty((0, self.T), dtype=np.uint8)
        self._places = np.empty((0, PLACES_PER_CASE), dtype=np.int32)
        self._lead = np.empty((0, LEAD_TERMS), dtype=np.uint32)
        if self.lexical is not None:
            self.lexical.clear()

    # -- size and membership --------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._slot_of)

    def __contains__(self, case_id: object) -> bool:
        return case_id in self._slot_of

    def clear(self) -> None:
        with self._lock:
            self._reset()

    def place_name(self, place_id: int) -> str:
        return self._pnames[place_id]

    # -- documents ------------------------------------------------------------------------

    def doc(self, text: str, meta: Mapping[str, Any] | None = None) -> MatterDoc:
        """Tokens, places and category of a message; ``meta`` may carry any of them precomputed."""
        meta = meta or {}
        tokens = meta.get("tokens")
        if tokens is None:
            tokens = tokenize(text)
        places = meta.get("places")
        if places is None:
            places = self.extractor.extract(text, meta.get("fields") or ())
        lead = meta.get("lead")
        if lead is None:
            lead = lead_tokens(text, tokens)
        return MatterDoc(list(tokens), places, meta.get("category") or None, list(lead))

    def _idf(self, ids: np.ndarray) -> np.ndarray:
        n = self._added
        return np.log((n + 1.0) / (self._df[ids] + 1.0)) + 1.0

    def _top_terms(self, tokens: Sequence[str], *, learn: bool) -> tuple[np.ndarray, np.ndarray]:
        """The ``T`` best (term id, count) of ``tokens`` by (1 + ln tf) · idf; unknown words get max idf."""
        counts = Counter(tokens)
        vocab = self._vocab
        if learn:
            for word in counts.keys() - vocab.keys():
                vocab[word] = len(self._words)
                self._words.append(word)
            if len(self._words) > len(self._df):
                self._df = _grow(self._df, max(len(self._words), int(len(self._df) * 1.5) + 4096), 0)
            words = list(counts)
        else:
            words = [w for w in counts if w in vocab]
        if not words:
            return np.empty(0, np.uint32), np.empty(0, np.uint8)
        ids = np.fromiter(map(vocab.__getitem__, words), dtype=np.int64, count=len(words))
        tf = np.fromiter(map(counts.__getitem__, words), dtype=np.int64, count=len(words))
        if learn:
            self._df[ids] += 1
            self._added += 1
        weight = (1.0 + np.log(tf)) * self._idf(ids)
        best = np.argsort(-weight, kind="stable")[: self.T]
        return ids[best].astype(np.uint32), np.minimum(tf[best], 255).astype(np.uint8)

    def _place_ids(self, places: Places, *, learn: bool) -> tuple[list[int], int]:
        out = []
        for name in places.fine:
            pid = self._pvocab.get(name)
            if pid is None and learn:
                pid = self._pvocab[name] = len(self._pnames)
                self._pnames.append(name)
            if pid is not None:
                out.append(pid)
        area = -1
        for name in places.areas[:1]:
            area = self._pvocab.get(name, -1)
            if area < 0 and learn:
                area = self._pvocab[name] = len(self._pnames)
                self._pnames.append(name)
        return out[:PLACES_PER_CASE], area

    def _cat_id(self, category: str | None, *, learn: bool) -> int:
        if not category:
            return -1
        cid = self._cvocab.get(category)
        if cid is None:
            if not learn:
                return -2  # a category no indexed case has: differs from all of them
            cid = self._cvocab[category] = len(self._cnames)
            self._cnames.append(category)
        return cid

    def _lead_ids(self, lead: Sequence[str]) -> np.ndarray:
        """Ids of the known lead words, distinct, at most ``LEAD_TERMS`` (unknown words match nothing)."""
        vocab = self._vocab
        ids = list(dict.fromkeys(vocab[w] for w in lead if w in vocab))[:LEAD_TERMS]
        return np.array(ids, dtype=np.uint32)

    # -- writes ---------------------------------------------------------------------------

    def add(
        self, case_id: str, text: str, created_at: datetime | None = None, meta: Mapping | None = None
    ) -> None:
        self.add_many([(case_id, text, created_at, meta)])

    def add_many(self, items: Iterable[Sequence[Any]]) -> None:
        """Index ``(case_id, text, created_at[, meta])`` items; re-adding an id replaces it.

        ``meta`` may hold ``tokens``, ``places``, ``category`` and ``fields`` (address strings).
        """
        prepared = []
        for item in items:
            case_id, text, created_at = item[0], item[1], item[2]
            meta = item[3] if len(item) > 3 else None
            if not isinstance(case_id, str) or not case_id:
                raise ValueError(f"case_id must be a non-empty string, got {case_id!r}")
            if not isinstance(text, str):
                raise TypeError(f"text must be a string, got {type(text).__name__}")
            prepared.append((case_id, text, _epoch(created_at), self.doc(text, meta), created_at))
        with self._lock:
            for case_id, _text, when, doc, _ in prepared:
                self._add_locked(case_id, when, doc)
        if self.lexical is not None:
            self.lexical.add_many((c, t, at) for c, t, _, _, at in prepared)

    def _add_locked(self, case_id: str, when: float, doc: MatterDoc) -> None:
        self._remove_locked(case_id)
        slot = self._free.pop() if self._free else self._new_slot()
        terms, tf = self._top_terms(doc.tokens, learn=True)
        places, area = self._place_ids(doc.places, learn=True)
        self._terms[slot] = _NONE
        self._tf[slot] = 0
        self._terms[slot, : len(terms)] = terms
        self._tf[slot, : len(tf)] = tf
        self._places[slot] = -1
        self._places[slot, : len(places)] = places
        lead = self._lead_ids(doc.lead)
        self._lead[slot] = _NONE
        self._lead[slot, : len(lead)] = lead
        self._area[slot] = area
        self._cat[slot] = self._cat_id(doc.category, learn=True)
        self._created[slot] = when
        for t in terms.tolist():
            self._post.setdefault(t, array("I")).append(slot)
        for p in places:
            self._ppost.setdefault(p, array("I")).append(slot)
        self._slot_of[case_id] = slot
        self._ids[slot] = case_id

    def _new_slot(self) -> int:
        slot = len(self._ids)
        self._ids.append(None)
        if slot >= len(self._created):
            cap = int(len(self._created) * 1.5) + 1024
            self._created = _grow(self._created, cap, np.nan)
            self._cat = _grow(self._cat, cap, -1)
            self._area = _grow(self._area, cap, -1)
            self._terms = _grow(self._terms, cap, _NONE)
            self._tf = _grow(self._tf, cap, 0)
            self._places = _grow(self._places, cap, -1)
            self._lead = _grow(self._lead, cap, _NONE)
        return slot

    def remove(self, case_id: str) -> bool:
        with self._lock:
            removed = self._remove_locked(case_id)
        if self.lexical is not None:
            self.lexical.remove(case_id)
        return removed

    def _remove_locked(self, case_id: str) -> bool:
        slot = self._slot_of.pop(case_id, None)
        if slot is None:
            return False
        # postings keep the slot (they are read newest first and checked against the slot's terms)
        self._ids[slot] = None
        self._terms[slot] = _NONE
        self._places[slot] = -1
        self._created[slot] = np.nan
        self._free.append(slot)
        return True

    def prune(self, now: datetime | None = None) -> int:
        if self.window_days is None:
            return 0
        cutoff = self._cutoff(now)
        with self._lock:
            old = np.flatnonzero(self._created[: len(self._ids)] < cutoff)
            gone = [self._ids[s] for s in old.tolist() if self._ids[s] is not None]
            for case_id in gone:
                self._remove_locked(case_id)
        if self.lexical is not None:
            self.lexical.prune(now)
        return len(gone)

    def _cutoff(self, now: datetime | None) -> float:
        if self.window_days is None:
            return -np.inf
        reference = time.time() if now is None else _epoch(now)
        return reference - self.window_days * _DAY

    # -- reads ----------------------------------------------------------------------------

    def query(
        self,
        text: str,
        *,
        now: datetime | None = None,
        k: int = 5,
        exclude: str | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> list[DuplicateCandidate]:
        return self.query_many([text], now=now, k=k, exclude=[exclude], metas=[meta])[0]

    def query_many(
        self,
        texts: Sequence[str],
        *,
        now: datetime | None = None,
        k: int = 5,
        exclude: Sequence[str | None] | None = None,
        metas: Sequence[Mapping[str, Any] | None] | None = None,
    ) -> list[list[DuplicateCandidate]]:
        """Indexed cases of the same matter as each text, best first, with a score and a reason."""
        texts = list(texts)
        for text in texts:
            if not isinstance(text, str):
                raise TypeError(f"text must be a string, got {type(text).__name__}")
        if exclude is not None and len(exclude) != len(texts):
            raise ValueError("exclude must have one entry per text")
        if metas is not None and len(metas) != len(texts):
            raise ValueError("metas must have one entry per text")
        if not texts:
            return []
        docs = [self.doc(t, metas[i] if metas is not None else None) for i, t in enumerate(texts)]
        cutoff = self._cutoff(now)
        ref = time.time() if now is None else _epoch(now)
        lexical = self.lexical.query_many(texts, now=now, k=k) if self.lexical is not None else None
        out = []
        with self._lock:
            for i, doc in enumerate(docs):
                skip = exclude[i] if exclude is not None else None
                extra = [c.case_id for c in lexical[i]] if lexical is not None else []
                out.append(self._query_locked(doc, ref, cutoff, k, skip, extra))
        return out

    def _query_locked(
        self, doc: MatterDoc, ref: float, cutoff: float, k: int, skip: str | None, extra: list[str]
    ) -> list[DuplicateCandidate]:
        if k <= 0 or not self._slot_of:
            return []
        q_terms, q_tf = self._top_terms(doc.tokens, learn=False)
        q_places, q_area = self._place_ids(doc.places, learn=False)
        slots = self._candidates(q_terms, q_tf, q_places, extra)
        if skip is not None and skip in self._slot_of:
            slots = slots[slots != self._slot_of[skip]]
        slots = slots[self._live(slots) & ~(self._created[slots] < cutoff)]  # NaN (undated) stays
        if len(slots) == 0:
            return []
        feats, detail = self._features(doc, q_terms, q_tf, q_places, q_area, slots, ref)
        scores = self.scorer.predict(feats)
        keep = np.flatnonzero(scores >= self.threshold - 1e-9)
        ids = self._ids
        order = sorted(keep.tolist(), key=lambda j: (-scores[j], ids[slots[j]]))[:k]
        return [
            DuplicateCandidate(ids[slots[j]], round(float(scores[j]), 4), self._reason(detail, j))
            for j in order
        ]

    def _live(self, slots: np.ndarray) -> np.ndarray:
        return self._terms[slots, 0] != _NONE  # a removed slot has no terms

    def _candidates(
        self, q_terms: np.ndarray, q_tf: np.ndarray, q_places: list[int], extra: list[str]
    ) -> np.ndarray:
        cap = self.postings_cap
        parts, weights = [], []
        if len(q_terms):
            idf = self._idf(q_terms.astype(np.int64))
            for t, w in zip(q_terms.tolist(), idf.tolist(), strict=True):
                post = self._post.get(t)
                if post is not None:
                    tail = np.frombuffer(post, dtype=np.uint32)[-cap:]
                    parts.append(tail)
                    weights.append(np.full(len(tail), w))
        found = []
        if parts:
            allslots = np.concatenate(parts)
            uniq, inv = np.unique(allslots, return_inverse=True)
            acc = np.bincount(inv, weights=np.concatenate(weights))
            top = np.argsort(-acc, kind="stable")[:WORD_CANDIDATES]
            found.append(uniq[top].astype(np.int64))
        for p in q_places:
            post = self._ppost.get(p)
            if post is not None:
                found.append(np.frombuffer(post, dtype=np.uint32)[-PLACE_CANDIDATES:].astype(np.int64))
        lex = [self._slot_of[c] for c in extra if c in self._slot_of]
        if lex:
            found.append(np.array(lex, dtype=np.int64))
        if not found:
            return np.empty(0, dtype=np.int64)
        return np.unique(np.concatenate(found))

    def _features(self, doc, q_terms, q_tf, q_places, q_area, slots, ref):
        """Feature matrix (one row per candidate slot, columns as in ``matter_score.FEATURES``)."""
        n = len(slots)
        qi = q_terms.astype(np.int64)
        q_w = (1.0 + np.log(np.maximum(q_tf, 1))) * self._idf(qi) if len(qi) else np.empty(0)
        q_norm = math.sqrt(float((q_w**2).sum())) or 1.0
        names = doc.places.fine + doc.places.areas
        # place words and single characters are not "the problem"
        is_place_term = np.array(
            [len(w) < 2 or any(w in p for p in names) for w in (self._words[i] for i in qi.tolist())],
            dtype=bool,
        )
        d_terms = self._terms[slots].astype(np.int64)
        valid = d_terms != int(_NONE)
        safe = np.where(valid, d_terms, 0)
        d_w = np.where(valid, (1.0 + np.log(np.maximum(self._tf[slots], 1))) * self._idf(safe), 0.0)
        d_norm = np.sqrt((d_w**2).sum(axis=1))
        d_norm[d_norm == 0] = 1.0
        order = np.argsort(qi)
        sq = qi[order]
        pos = np.clip(np.searchsorted(sq, safe), 0, max(len(sq) - 1, 0))
        match = valid & (sq[pos] == safe) if len(sq) else np.zeros_like(valid)
        qw_at = np.where(match, q_w[order][pos] if len(sq) else 0.0, 0.0)
        word = (qw_at * d_w).sum(axis=1) / (q_norm * d_norm)
        q_idf = self._idf(qi) if len(qi) else np.empty(0)
        problem_mask = ~is_place_term[order][pos] if len(sq) else np.zeros_like(valid)
        shared_problem = np.where(match & problem_mask, q_idf[order][pos] if len(sq) else 0.0, 0.0).sum(
            axis=1
        )
        total_problem = float(q_idf[~is_place_term].sum()) if len(qi) else 0.0
        problem = shared_problem / total_problem if total_problem > 0 else np.zeros(n)
        d_places = self._places[slots]
        place_hit = np.full(n, -1, dtype=np.int64)
        for p in sorted(q_places, key=lambda p: -len(self._pnames[p])):
            hit = (d_places == p).any(axis=1) & (place_hit < 0)
            place_hit[hit] = p
        place = (place_hit >= 0).astype(float)
        place_len = np.array(
            [min(1.0, len(self._pnames[p]) / 8.0) if p >= 0 else 0.0 for p in place_hit.tolist()]
        )
        d_area = self._area[slots]
        area = ((d_area >= 0) & (d_area == q_area) & (place == 0)).astype(float)
        q_cat = self._cat_id(doc.category, learn=False)
        d_cat = self._cat[slots].astype(np.int64)
        category = np.where((q_cat == -1) | (d_cat == -1), 0.5, (d_cat == q_cat).astype(float))
        days_signed = (ref - self._created[slots]) / _DAY
        days = np.log1p(np.abs(np.nan_to_num(days_signed, nan=0.0)))
        lead = self._lead_cosine(doc, slots)
        feats = np.column_stack(
            [word, place, place_len, area, problem, category, days, copy_feature(word), lead, place * lead]
        )
        detail = {
            "word": word,
            "place": place_hit,
            "area": np.where(area > 0, d_area, -1),
            "days": days_signed,
            "category": np.where(category == 1.0, q_cat, -1),
            "match": match & problem_mask,
            "terms": safe,
            "idf": self._idf(safe),
            "slots": slots,
            "q_lead": set(self._lead_ids(doc.lead).tolist()),
            "names": names,
        }
        return feats, detail

    def _df_idf(self, term: int) -> float:
        return float(self._idf(np.array([term]))[0])

    def _lead_cosine(self, doc: MatterDoc, slots: np.ndarray) -> np.ndarray:
        """idf-weighted cosine of the two lead (title) word sets."""
        q = self._lead_ids(doc.lead).astype(np.int64)
        d = self._lead[slots].astype(np.int64)
        valid = d != int(_NONE)
        if len(q) == 0:
            return np.zeros(len(slots))
        safe = np.where(valid, d, 0)
        d_idf = np.where(valid, self._idf(safe), 0.0)
        q_idf = self._idf(q)
        hit = valid & np.isin(safe, q)
        dot = np.where(hit, d_idf**2, 0.0).sum(axis=1)
        norm = np.sqrt((d_idf**2).sum(axis=1)) * math.sqrt(float((q_idf**2).sum()))
        return np.where(norm > 0, dot / np.where(norm > 0, norm, 1.0), 0.0)

    def _reason(self, detail: dict, j: int) -> str:
        p, a, c = int(detail["place"][j]), int(detail["area"][j]), int(detail["category"][j])
        # the words both titles use say best what the matter is; then the body's rarest shared words
        lead = [int(t) for t in self._lead[int(detail["slots"][j])] if int(t) in detail["q_lead"]]
        lead = sorted(lead, key=lambda t: -self._df_idf(t))
        terms = [
            w
            for w in (self._words[t] for t in lead)
            if len(w) > 1 and not any(w in n for n in detail["names"])
        ]
        shared = np.flatnonzero(detail["match"][j])
        for b in shared[np.argsort(-detail["idf"][j][shared], kind="stable")]:
            word = self._words[int(detail["terms"][j][b])]
            if len(terms) < 2 and word not in terms:
                terms.append(word)
        terms = terms[:2]
        return reason_text(
            place=self._pnames[p] if p >= 0 else None,
            area=self._pnames[a] if a >= 0 else None,
            terms=terms,
            category=self._cnames[c] if c >= 0 else None,
            word=float(detail["word"][j]),
            days=float(detail["days"][j]),
        )

    def pair_features(self, doc: MatterDoc, case_id: str, now: datetime | None = None) -> np.ndarray:
        """The scorer's features for ``doc`` against one indexed case (fitting and benchmarks)."""
        with self._lock:
            slot = self._slot_of[case_id]
            q_terms, q_tf = self._top_terms(doc.tokens, learn=False)
            q_places, q_area = self._place_ids(doc.places, learn=False)
            ref = time.time() if now is None else _epoch(now)
            feats, _ = self._features(doc, q_terms, q_tf, q_places, q_area, np.array([slot]), ref)
            return feats[0]


def build_duplicate_index(settings: Any) -> MatterIndex | DuplicateIndex:
    """The duplicate stage's index as configured: the same-matter matcher, or copies only."""
    if settings.duplicate_matcher == "lexical":
        return DuplicateIndex(
            threshold=settings.duplicate_threshold, window_days=settings.duplicate_window_days
        )
    return MatterIndex(
        threshold=settings.matter_threshold,
        window_days=settings.duplicate_window_days,
        lexical=settings.duplicate_lexical_source,
    )
