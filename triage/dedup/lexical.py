"""Near-duplicate detection over existing cases: MinHash LSH candidates, re-ranked by cosine.

Texts are expected to have passed :func:`triage.text.intake.prepare_text`. Each case is reduced to
the set of character trigrams of its text with punctuation and spaces removed
(:mod:`triage.dedup.sketch`). ``datasketch.MinHashLSH`` over MinHash signatures of that set
proposes candidates without scanning the index; each candidate is then scored by the cosine
of the two binary trigram vectors, |A∩B| / sqrt(|A|·|B|), and kept if the score reaches the
threshold. Binary rather than count vectors: masked numbers ("0000-00000000") repeat the same
trigram dozens of times and made unrelated messages look alike under count cosine.

Per case the index keeps the LSH entries (~2 KB) and the trigram set folded to 16-bit feature
ids (~2 bytes per distinct trigram), never the text. Defaults (60 permutations in 20 bands of 3
rows) were chosen with ``python -m training.near_duplicates`` and ``bench/bench_dedup.py``; see
docs/bench/dedup.md.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from math import sqrt
from typing import Any, cast

import numpy as np
from datasketch import LeanMinHash
from numpy.typing import NDArray

from triage.dedup.lsh import CompactLSH
from triage.dedup.sketch import FEATURE_BITS, SCHEME, Sketcher, Sketches
from triage.result import DuplicateCandidate

DEFAULT_NUM_PERM = 60
DEFAULT_BANDS = 20
DEFAULT_SEED = 1
ADD_BATCH = 2048  # cases sketched together and inserted under one lock acquisition
_DAY = 86_400.0
_LOOP_MAX = 12  # up to this many candidates are scored one by one, more in one numpy pass
_COMPACT_MIN = 1 << 20  # don't bother compacting the feature arena below this much garbage


def _epoch(value: datetime | None) -> float:
    """Seconds since the epoch; naive datetimes are taken as UTC, ``None`` becomes NaN."""
    if value is None:
        return float("nan")
    if not isinstance(value, datetime):
        raise TypeError(f"created_at must be a datetime or None, got {type(value).__name__}")
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


class DuplicateIndex:
    """Index of existing cases answering "which recent cases is this message a near-copy of?".

    Thread-safe: signatures are computed outside the lock, index reads and writes inside it.
    """

    def __init__(
        self,
        threshold: float = 0.6,
        num_perm: int = DEFAULT_NUM_PERM,
        window_days: int | None = 90,
        *,
        bands: int = DEFAULT_BANDS,
        seed: int = DEFAULT_SEED,
        templates: Sequence[int] = (),
    ) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        if bands < 2 or num_perm < bands:
            raise ValueError(f"need num_perm >= bands >= 2, got num_perm={num_perm}, bands={bands}")
        if window_days is not None and window_days <= 0:
            raise ValueError(f"window_days must be positive or None, got {window_days}")
        self.threshold = float(threshold)
        self.num_perm = num_perm
        self.bands = bands
        self.rows = num_perm // bands
        self.window_days = window_days
        self.seed = seed
        self._sketcher = Sketcher(num_perm, seed, templates)  # a city's template trigrams are left out
        self._lock = threading.RLock()
        self._reset()

    def _reset(self) -> None:
        self._lsh = CompactLSH(self.num_perm, self.bands)
        self._slot_of: dict[str, int] = {}
        self._ids: list[str | None] = []  # slot -> case id (None: free slot)
        self._free: list[int] = []
        self._created = np.empty(0, dtype=np.float64)  # epoch seconds, NaN = no date
        self._start = np.empty(0, dtype=np.int64)  # slot -> offset of its features in the arena
        self._length = np.zeros(0, dtype=np.int32)  # slot -> number of features (0: free or empty)
        self._arena = np.empty(0, dtype=np.uint16)
        self._arena_used = 0
        self._arena_live = 0
        self._mask = np.zeros(1 << FEATURE_BITS, dtype=bool)  # query's features, reset after use

    # -- size and membership ------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._slot_of)

    def __contains__(self, case_id: object) -> bool:
        return case_id in self._slot_of

    @property
    def templates(self) -> NDArray[np.uint64]:
        """The template trigram keys left out of every sketch (sorted; empty: none)."""
        return self._sketcher.templates

    def candidate_counts(self, texts: Sequence[str]) -> list[int]:
        """How many indexed cases the LSH offers for each text before exact scoring (benchmarks)."""
        sketches = self._sketcher.sketch(list(texts))
        with self._lock:
            return [len(self._lsh.candidates(row)) for row in sketches.signatures]

    def clear(self) -> None:
        with self._lock:
            self._reset()

    # -- writes -------------------------------------------------------------------------------

    def add(self, case_id: str, text: str, created_at: datetime | None = None) -> None:
        """Index one case; re-adding an existing id replaces it."""
        self.add_many([(case_id, text, created_at)])

    def add_many(self, items: Iterable[Sequence[Any]]) -> None:
        """Index many cases; signatures are computed in vectorised batches of ``ADD_BATCH``.

        The lock is taken per batch, so queries keep being answered during a bulk load. A
        malformed item raises; the batches before it stay indexed.
        """
        batch: dict[str, tuple[str, float]] = {}
        for case_id, text, created_at, *_meta in items:  # a 4th item (matter metadata) is not read
            if not isinstance(case_id, str) or not case_id:
                raise ValueError(f"case_id must be a non-empty string, got {case_id!r}")
            if not isinstance(text, str):
                raise TypeError(f"text must be a string, got {type(text).__name__}")
            batch.pop(case_id, None)  # the last occurrence wins
            batch[case_id] = (text, _epoch(created_at))
            if len(batch) >= ADD_BATCH:
                self._add_batch(batch)
                batch = {}
        if batch:
            self._add_batch(batch)

    def _add_batch(self, batch: dict[str, tuple[str, float]]) -> None:
        ids = list(batch)
        sketches = self._sketcher.sketch([text for text, _ in batch.values()])
        created = np.fromiter((when for _, when in batch.values()), dtype=np.float64, count=len(ids))
        with self._lock:
            for case_id in ids:
                self._remove_locked(case_id)
            slots = self._allocate(len(ids))
            self._store_features(slots, sketches)
            self._created[slots] = created
            for i, (case_id, slot) in enumerate(zip(ids, slots.tolist(), strict=True)):
                self._slot_of[case_id] = slot
                self._ids[slot] = case_id
                if sketches.offsets[i + 1] > sketches.offsets[i]:
                    self._lsh.insert(slot, self._minhash(sketches.signatures[i]), check_duplication=False)
            self._maybe_compact()

    def remove(self, case_id: str) -> bool:
        """Forget a case; False if it was not indexed."""
        with self._lock:
            removed = self._remove_locked(case_id)
            self._maybe_compact()
            return removed

    def prune(self, now: datetime | None = None) -> int:
        """Drop cases created before the window that ends at ``now``; returns how many went.

        Queries already ignore such cases; pruning only gives their memory back.
        """
        if self.window_days is None:
            return 0
        cutoff = self._cutoff(now)
        with self._lock:
            old = np.flatnonzero(self._created < cutoff)  # NaN (no date) compares False
            gone = [case_id for slot in old.tolist() if (case_id := self._ids[slot]) is not None]
            for case_id in gone:
                self._remove_locked(case_id)
            self._maybe_compact()
            return len(gone)

    def _remove_locked(self, case_id: str) -> bool:
        slot = self._slot_of.pop(case_id, None)
        if slot is None:
            return False
        length = int(self._length[slot])
        if length:
            self._lsh.remove(slot)
            self._arena_live -= length
        self._ids[slot] = None
        self._length[slot] = 0
        self._created[slot] = np.nan
        self._free.append(slot)
        return True

    def _allocate(self, n: int) -> NDArray[np.int64]:
        reuse = [self._free.pop() for _ in range(min(n, len(self._free)))]
        first_new = len(self._ids)
        fresh = n - len(reuse)
        if fresh:
            self._ids.extend([None] * fresh)
            size = len(self._ids)
            if size > len(self._start):
                cap = max(size, int(len(self._start) * 1.5) + 1024)
                self._start = np.resize(self._start, cap)
                self._length = np.concatenate([self._length, np.zeros(cap - len(self._length), np.int32)])
                self._created = np.concatenate(
                    [self._created, np.full(cap - len(self._created), np.nan, np.float64)]
                )
        return np.array(reuse + list(range(first_new, first_new + fresh)), dtype=np.int64)

    def _store_features(self, slots: NDArray[np.int64], sketches: Sketches) -> None:
        total = len(sketches.features)
        need = self._arena_used + total
        if need > len(self._arena):
            grown = np.empty(max(need, int(len(self._arena) * 1.5) + (1 << 16)), dtype=np.uint16)
            grown[: self._arena_used] = self._arena[: self._arena_used]
            self._arena = grown
        self._arena[self._arena_used : need] = sketches.features
        self._start[slots] = self._arena_used + sketches.offsets[:-1]
        self._length[slots] = np.diff(sketches.offsets)
        self._arena_used = need
        self._arena_live += total

    def _maybe_compact(self) -> None:
        """Rewrite the feature arena without removed cases once they are most of it."""
        garbage = self._arena_used - self._arena_live
        if garbage < _COMPACT_MIN or garbage < self._arena_live:
            return
        live = np.flatnonzero(self._length)
        lengths = self._length[live].astype(np.int64)
        self._arena = self._arena[_gather_index(self._start[live], lengths)].copy()
        self._start[live] = np.cumsum(lengths) - lengths
        self._arena_used = self._arena_live = len(self._arena)

    def _minhash(self, signature: NDArray[np.uint32]) -> LeanMinHash:
        return LeanMinHash(seed=self.seed, hashvalues=signature, scheme=SCHEME)

    # -- reads --------------------------------------------------------------------------------

    def query(
        self, text: str, *, now: datetime | None = None, k: int = 5, exclude: str | None = None
    ) -> list[DuplicateCandidate]:
        """Indexed cases whose similarity to ``text`` reaches the threshold, best first.

        Only cases created at most ``window_days`` before ``now`` (default: the current time)
        are eligible; undated cases always are, and so are cases dated after ``now``.
        """
        return self.query_many([text], now=now, k=k, exclude=[exclude])[0]

    def query_many(
        self,
        texts: Sequence[str],
        *,
        now: datetime | None = None,
        k: int = 5,
        exclude: Sequence[str | None] | None = None,
    ) -> list[list[DuplicateCandidate]]:
        """:meth:`query` for many texts, with signatures computed in one vectorised batch."""
        texts = list(texts)
        for text in texts:
            if not isinstance(text, str):
                raise TypeError(f"text must be a string, got {type(text).__name__}")
        if exclude is not None and len(exclude) != len(texts):
            raise ValueError("exclude must have one entry per text")
        if not texts:
            return []
        cutoff = self._cutoff(now)
        sketches = self._sketcher.sketch(texts)
        out: list[list[DuplicateCandidate]] = []
        with self._lock:
            for i in range(len(texts)):
                name = exclude[i] if exclude is not None else None
                skip = self._slot_of.get(name) if name else None
                out.append(self._query_locked(sketches, i, cutoff, k, skip))
        return out

    def _cutoff(self, now: datetime | None) -> float:
        if self.window_days is None:
            return -np.inf
        reference = time.time() if now is None else _epoch(now)
        return reference - self.window_days * _DAY

    def _query_locked(
        self, sketches: Sketches, i: int, cutoff: float, k: int, skip: int | None
    ) -> list[DuplicateCandidate]:
        features = sketches.doc_features(i)
        if k <= 0 or len(features) == 0 or not self._slot_of:
            return []
        found = self._lsh.candidates(sketches.signatures[i])
        found.discard(skip)
        if not found:
            return []
        mask = self._mask
        mask[features] = True
        try:
            if len(found) <= _LOOP_MAX:
                scored = self._score_few(found, len(features), cutoff)
            else:
                scored = self._score_many(found, len(features), cutoff)
        finally:
            mask[features] = False
        ids = self._ids
        scored.sort(key=lambda pair: (-pair[0], ids[pair[1]]))
        return [DuplicateCandidate(cast(str, ids[slot]), score) for score, slot in scored[:k]]  # live slots

    def _score_few(self, found: set[int], n_features: int, cutoff: float) -> list[tuple[float, int]]:
        """Cosine of a handful of candidates, one small numpy call each (the common case)."""
        mask, arena, threshold = self._mask, self._arena, self.threshold - 1e-9
        created, start, length = self._created, self._start, self._length
        scored = []
        for slot in found:
            if created[slot] < cutoff:  # NaN (undated) never compares below
                continue
            begin, size = int(start[slot]), int(length[slot])
            score = min(1.0, np.count_nonzero(mask[arena[begin : begin + size]]) / sqrt(size * n_features))
            if score >= threshold:
                scored.append((score, slot))
        return scored

    def _score_many(self, found: set[int], n_features: int, cutoff: float) -> list[tuple[float, int]]:
        """Cosine of many candidates in one vectorised pass."""
        slots = np.fromiter(found, dtype=np.int64, count=len(found))
        slots = slots[~(self._created[slots] < cutoff)]
        if len(slots) == 0:
            return []
        lengths = self._length[slots].astype(np.int64)
        hits = self._mask[self._arena[_gather_index(self._start[slots], lengths)]]
        common = np.add.reduceat(hits, np.cumsum(lengths) - lengths)
        scores = np.minimum(common / np.sqrt(lengths * float(n_features)), 1.0)
        keep = np.flatnonzero(scores >= self.threshold - 1e-9)
        return list(zip(scores[keep].tolist(), slots[keep].tolist(), strict=True))


def _gather_index(starts: NDArray[np.int64], lengths: NDArray[np.int64]) -> NDArray[np.int64]:
    """Concatenated ``arange(start, start + length)`` for every (start, length) pair."""
    total = int(lengths.sum())
    firsts = np.cumsum(lengths) - lengths
    return np.repeat(starts - firsts, lengths) + np.arange(total, dtype=np.int64)
