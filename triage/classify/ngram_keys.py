"""Integer n-gram keys and the vectorised lookups behind the classifier's featurisation.

An n-gram of word or character ids packs into one int64 (block bit, n, then the ids), so a batch's
n-grams are arrays of keys: document frequencies come from one sort, feature rows from an
open-addressing hash table probed for the whole array at once (numpy has no hash join).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "BLOCK_SHIFT",
    "CHAR",
    "N_SHIFT",
    "PAYLOAD_BITS",
    "WORD",
    "HashIndex",
    "descending_positive",
    "document_frequency",
    "feature_key",
]

WORD, CHAR = 0, 1
N_SHIFT, BLOCK_SHIFT, PAYLOAD_BITS = 59, 62, 59
_MULT = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing


class HashIndex:
    """Open-addressing int64 → row table with vectorised lookups (numpy has no hash join)."""

    def __init__(self, keys: NDArray[np.int64]) -> None:
        self.bits = max(4, int(np.ceil(np.log2(max(len(keys), 1)))) + 1)  # load factor ≤ 0.5
        self.mask = (1 << self.bits) - 1
        self.keys = np.zeros(1 << self.bits, dtype=np.int64)
        self.vals = np.full(1 << self.bits, -1, dtype=np.int32)
        slot, pending = self._slot(keys), np.arange(len(keys))
        while len(pending):
            s = slot[pending]
            free = self.vals[s] < 0
            taken, first = np.unique(s[free], return_index=True)
            winners = pending[free][first]
            self.keys[taken], self.vals[taken] = keys[winners], winners
            placed = np.zeros(len(keys), dtype=bool)
            placed[winners] = True
            pending = pending[~placed[pending]]
            slot[pending] = (slot[pending] + 1) & self.mask

    def _slot(self, keys: NDArray[np.int64]) -> NDArray[np.int64]:
        return ((keys.view(np.uint64) * _MULT) >> np.uint64(64 - self.bits)).astype(np.int64)

    def lookup(self, keys: NDArray[np.int64]) -> NDArray[np.int32]:
        """Row of each key, -1 when absent."""
        out = np.full(len(keys), -1, dtype=np.int32)
        slot, active = self._slot(keys), np.arange(len(keys))
        while len(active):
            s = slot[active]
            vals = self.vals[s]
            occupied = vals >= 0
            hit = occupied & (self.keys[s] == keys[active])
            out[active[hit]] = vals[hit]
            more = occupied & ~hit
            active = active[more]
            slot[active] = (s[more] + 1) & self.mask
        return out


def document_frequency(
    keys: NDArray[np.int64], owner: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """(distinct keys, their document frequency, index of each input key in the distinct keys).

    ``owner`` must be non-decreasing, as it is in position order. One stable sort; much faster
    here than ``np.unique`` on (document, key) pairs.
    """
    order = np.argsort(keys, kind="stable")
    ks, docs = keys[order], owner[order]
    new_key = np.ones(len(ks), dtype=bool)
    new_key[1:] = ks[1:] != ks[:-1]
    new_cell = new_key.copy()
    new_cell[1:] |= docs[1:] != docs[:-1]
    key_id = np.cumsum(new_key) - 1
    inverse = np.empty(len(keys), dtype=np.int64)
    inverse[order] = key_id
    return ks[new_key], np.bincount(key_id[new_cell], minlength=int(new_key.sum())), inverse


def feature_key(block: int, n: int, payload: NDArray[np.int64]) -> NDArray[np.int64]:
    return payload | np.int64((block << BLOCK_SHIFT) | (n << N_SHIFT))


def descending_positive(values: NDArray[np.floating[Any]], row: NDArray[np.int64]) -> NDArray[np.int64]:
    """Positions of the positive ``values``, grouped by ``row`` (non-decreasing), largest first.

    float32 values sort as one int64 key (row, then the value's bit pattern, which orders positive
    floats): one quicksort instead of a two-key lexsort, several times faster on a batch.
    """
    pos = np.flatnonzero(values > 0)
    if values.dtype == np.float32:
        bits = values[pos].view(np.int32).astype(np.int64)
        return pos[np.argsort((row[pos] << 32) | (0x7FFFFFFF - bits))]
    return pos[np.lexsort((-values[pos], row[pos]))]
