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
place, problem terms, category and the time gap (:mod:`triage.dedup.matter_features`), and explained
in Chinese. Word, place and category ids come from :mod:`triage.dedup.matter_terms`.

Memory: ~480 bytes per case in each worker at 1,000,000 cases (docs/benchmarks.md); idf is a corpus
statistic over every case ever added since the last rebuild (removals do not change it).
"""

from __future__ import annotations

import threading
import time
from array import array
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from triage.config import DEFAULT_DUPLICATE_THRESHOLD
from triage.dedup.lexical import DuplicateIndex, _epoch
from triage.dedup.matter_features import CandidateRows, Query, features, reason
from triage.dedup.matter_score import MatterScorer
from triage.dedup.matter_terms import (
    LEAD_TERMS,
    NONE,
    PLACES_PER_CASE,
    MatterDoc,
    MatterVocabulary,
    grow,
    lead_tokens,
)
from triage.result import DuplicateCandidate
from triage.text.places import PlaceExtractor
from triage.text.tokenizer import tokenize

if TYPE_CHECKING:
    from triage.config import Settings

__all__ = ["MatterDoc", "MatterIndex", "build_duplicate_index", "lead_tokens"]

_DAY = 86_400.0
WORD_CANDIDATES = 64  # best word-postings candidates scored per lookup
PLACE_CANDIDATES = 32  # most recent same-place cases scored per lookup


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
        templates: Sequence[int] = (),
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
        # copies only, at the lexical stage's default threshold (not the matter scorer's)
        self.lexical = (
            DuplicateIndex(
                threshold=DEFAULT_DUPLICATE_THRESHOLD, window_days=window_days, templates=templates
            )
            if lexical
            else None
        )
        self._lock = threading.RLock()
        self._reset()

    def _reset(self) -> None:
        self._vocab = MatterVocabulary(self.T)
        self._post: dict[int, array[int]] = {}  # term id → slots that kept it, oldest first
        self._ppost: dict[int, array[int]] = {}  # place id → slots naming it
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
        return self._vocab.place_names[place_id]

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

    # -- writes ---------------------------------------------------------------------------

    def add(
        self,
        case_id: str,
        text: str,
        created_at: datetime | None = None,
        meta: Mapping[str, Any] | None = None,
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
        terms, tf = self._vocab.top_terms(doc.tokens, learn=True)
        places, area = self._vocab.place_ids(doc.places, learn=True)
        self._terms[slot] = NONE
        self._tf[slot] = 0
        self._terms[slot, : len(terms)] = terms
        self._tf[slot, : len(tf)] = tf
        self._places[slot] = -1
        self._places[slot, : len(places)] = places
        lead = self._vocab.lead_ids(doc.lead)
        self._lead[slot] = NONE
        self._lead[slot, : len(lead)] = lead
        self._area[slot] = area
        self._cat[slot] = self._vocab.category_of(doc.category, learn=True)
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
            self._created = grow(self._created, cap)
            self._cat = grow(self._cat, cap)
            self._area = grow(self._area, cap)
            self._terms = grow(self._terms, cap)
            self._tf = grow(self._tf, cap)
            self._places = grow(self._places, cap)
            self._lead = grow(self._lead, cap)
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
        self._terms[slot] = NONE
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
            gone = [case_id for s in old.tolist() if (case_id := self._ids[s]) is not None]
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
        q_terms, q_tf = self._vocab.top_terms(doc.tokens, learn=False)
        q_places, q_area = self._vocab.place_ids(doc.places, learn=False)
        slots = self._candidates(q_terms, q_tf, q_places, extra)
        if skip is not None and skip in self._slot_of:
            slots = slots[slots != self._slot_of[skip]]
        slots = slots[self._live(slots) & ~(self._created[slots] < cutoff)]  # NaN (undated) stays
        if len(slots) == 0:
            return []
        query = Query(doc, q_terms, q_tf, q_places, q_area)
        feats, detail = features(self._vocab, query, self._rows(slots), ref)
        scores = self.scorer.predict(feats)
        keep = np.flatnonzero(scores >= self.threshold - 1e-9)
        ids = self._ids
        order = sorted(keep.tolist(), key=lambda j: (-scores[j], ids[slots[j]]))[:k]
        return [
            DuplicateCandidate(ids[slots[j]], round(float(scores[j]), 4), reason(self._vocab, detail, j))
            for j in order
        ]

    def _live(self, slots: NDArray[np.int64]) -> NDArray[np.bool_]:
        live: NDArray[np.bool_] = self._terms[slots, 0] != NONE  # a removed slot has no terms
        return live

    def _candidates(
        self, q_terms: NDArray[np.uint32], q_tf: NDArray[np.uint8], q_places: list[int], extra: list[str]
    ) -> NDArray[np.int64]:
        cap = self.postings_cap
        parts, weights = [], []
        if len(q_terms):
            idf = self._vocab.idf(q_terms.astype(np.int64))
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

    def _rows(self, slots: NDArray[np.int64]) -> CandidateRows:
        return CandidateRows(
            self._terms[slots],
            self._tf[slots],
            self._places[slots],
            self._area[slots],
            self._cat[slots],
            self._created[slots],
            self._lead[slots],
        )

    def pair_features(self, doc: MatterDoc, case_id: str, now: datetime | None = None) -> NDArray[np.float64]:
        """The scorer's features for ``doc`` against one indexed case (fitting and benchmarks)."""
        with self._lock:
            slot = self._slot_of[case_id]
            q_terms, q_tf = self._vocab.top_terms(doc.tokens, learn=False)
            q_places, q_area = self._vocab.place_ids(doc.places, learn=False)
            ref = time.time() if now is None else _epoch(now)
            query = Query(doc, q_terms, q_tf, q_places, q_area)
            feats, _ = features(self._vocab, query, self._rows(np.array([slot])), ref)
            row: NDArray[np.float64] = feats[0]
            return row


def build_duplicate_index(settings: Settings, templates: Sequence[int] = ()) -> MatterIndex | DuplicateIndex:
    """The duplicate stage's index as configured: the same-matter matcher, or copies only.

    ``templates`` are the profile's template trigrams (``metadata["duplicate_templates"]``).
    """
    if settings.duplicate_matcher == "lexical":
        return DuplicateIndex(
            threshold=settings.duplicate_threshold,
            window_days=settings.duplicate_window_days,
            templates=templates,
        )
    return MatterIndex(
        threshold=settings.matter_threshold,
        window_days=settings.duplicate_window_days,
        lexical=settings.duplicate_lexical_source,
        templates=templates,
    )
