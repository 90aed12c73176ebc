"""What the same-matter index keeps of a message: ids of its best words, places and category.

A :class:`MatterVocabulary` gives every word, place name and category the index has seen a dense
id, and counts each word's document frequency for idf (a corpus statistic over every case added
since the last reset; removals do not change it). Unknown words get the largest idf.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from triage.text.places import Places
from triage.text.tokenizer import tokenize

__all__ = [
    "LEAD_CHARS",
    "LEAD_TERMS",
    "NONE",
    "PLACES_PER_CASE",
    "MatterDoc",
    "MatterVocabulary",
    "grow",
    "lead_tokens",
]

NONE = np.uint32(0xFFFFFFFF)  # an empty term / lead slot
PLACES_PER_CASE = 4
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


def grow(a: NDArray[Any], cap: int) -> NDArray[Any]:
    """``a`` with room for ``cap`` rows, the new rows zero.

    Zeroed memory from ``np.zeros`` is mapped lazily, so the room not yet used costs no resident
    memory (a fill value would touch every page: ~55 bytes per case at 1,000,000 cases). Callers
    write a row in full before they read it.
    """
    out = np.zeros((cap,) + a.shape[1:], dtype=a.dtype)
    out[: len(a)] = a
    return out


class MatterVocabulary:
    """Dense ids of words (with document frequencies), place names and categories.

    ``learn=True`` (adding a case) gives unseen names new ids; ``learn=False`` (a lookup) leaves
    the vocabulary unchanged. Not thread-safe: the index calls it under its lock.
    """

    def __init__(self, terms_per_case: int) -> None:
        self.terms_per_case = terms_per_case
        self.word_id: dict[str, int] = {}
        self.words: list[str] = []
        self.df = np.zeros(0, dtype=np.int32)
        self.added = 0  # documents ever added (idf's N)
        self.place_id: dict[str, int] = {}
        self.place_names: list[str] = []
        self.category_id: dict[str, int] = {}
        self.category_names: list[str] = []

    def idf(self, ids: NDArray[np.integer[Any]]) -> NDArray[np.float64]:
        n = self.added
        idf: NDArray[np.float64] = np.log((n + 1.0) / (self.df[ids] + 1.0)) + 1.0
        return idf

    def term_idf(self, term: int) -> float:
        return float(self.idf(np.array([term]))[0])

    def top_terms(
        self, tokens: Sequence[str], *, learn: bool
    ) -> tuple[NDArray[np.uint32], NDArray[np.uint8]]:
        """The best (term id, count) of ``tokens`` by (1 + ln tf) · idf; unknown words get max idf."""
        counts = Counter(tokens)
        vocab = self.word_id
        if learn:
            for word in [w for w in counts if w not in vocab]:  # not keys() - keys(): walks vocab
                vocab[word] = len(self.words)
                self.words.append(word)
            if len(self.words) > len(self.df):
                self.df = grow(self.df, max(len(self.words), int(len(self.df) * 1.5) + 4096))
            words = list(counts)
        else:
            words = [w for w in counts if w in vocab]
        if not words:
            return np.empty(0, np.uint32), np.empty(0, np.uint8)
        ids = np.fromiter(map(vocab.__getitem__, words), dtype=np.int64, count=len(words))
        tf = np.fromiter(map(counts.__getitem__, words), dtype=np.int64, count=len(words))
        if learn:
            self.df[ids] += 1
            self.added += 1
        weight = (1.0 + np.log(tf)) * self.idf(ids)
        best = np.argsort(-weight, kind="stable")[: self.terms_per_case]
        return ids[best].astype(np.uint32), np.minimum(tf[best], 255).astype(np.uint8)

    def place_ids(self, places: Places, *, learn: bool) -> tuple[list[int], int]:
        """Ids of the message's fine places (at most ``PLACES_PER_CASE``) and of its first area (-1: none)."""
        out = []
        for name in places.fine:
            pid = self.place_id.get(name)
            if pid is None and learn:
                pid = self.place_id[name] = len(self.place_names)
                self.place_names.append(name)
            if pid is not None:
                out.append(pid)
        area = -1
        for name in places.areas[:1]:
            area = self.place_id.get(name, -1)
            if area < 0 and learn:
                area = self.place_id[name] = len(self.place_names)
                self.place_names.append(name)
        return out[:PLACES_PER_CASE], area

    def category_of(self, category: str | None, *, learn: bool) -> int:
        """Id of a category; -1 for none, -2 for one no indexed case has (it differs from all of them)."""
        if not category:
            return -1
        cid = self.category_id.get(category)
        if cid is None:
            if not learn:
                return -2
            cid = self.category_id[category] = len(self.category_names)
            self.category_names.append(category)
        return cid

    def lead_ids(self, lead: Sequence[str]) -> NDArray[np.uint32]:
        """Ids of the known lead words, distinct, at most ``LEAD_TERMS`` (unknown words match nothing)."""
        vocab = self.word_id
        ids = list(dict.fromkeys(vocab[w] for w in lead if w in vocab))[:LEAD_TERMS]
        return np.array(ids, dtype=np.uint32)
