"""Vectorised sketches for duplicate detection: char-trigram features and MinHash signatures.

datasketch's ``MinHash.update_batch`` hashes every shingle with sha1 in Python (~0.8 ms per
message), which alone would cost most of the pipeline's time budget. Here a whole batch of texts
is turned into one numpy array of code points, shingled and hashed with integer arithmetic, and
min-reduced per document, so a ~350-character message costs a few tens of microseconds.

The signatures are exactly what ``datasketch.MinHash(num_perm, seed, scheme="affine32")`` would
hold after ``update_batch`` over the same shingles with :func:`shingle_hash32` as its hash
function (the tests check this), so they can be wrapped as ``LeanMinHash`` and indexed by
``MinHashLSH``. Nothing depends on Python's ``hash()``: signatures are stable across processes.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
from datasketch import MinHash
from numpy.typing import NDArray

SHINGLE = 3  # characters per shingle; trigrams of the cleaned text
FEATURE_BITS = 16  # stored features are trigram hashes folded to 16 bits (feature hashing)
SCHEME = "affine32"  # datasketch permutation scheme the signatures follow
# A city's work orders are written on templates ("市民来电反映：…请职能局按规定在30分钟内…"). Trigrams
# found in at least this share of its orders are the template, not the matter: dropped from every
# sketch, so that two orders sharing only the template neither meet in the LSH nor score as copies.
TEMPLATE_MIN_SHARE = 0.2
TEMPLATE_MIN_DOCS = 500  # below this many orders a share says nothing reliable
TEMPLATES_KEY = "duplicate_templates"  # where a trained bundle's metadata keeps them
TEMPLATE_SAMPLE = 25_000  # templates are frequent by definition: a sample of the history finds them
_CHUNK_SHINGLES = 16_384  # shingles per min-reduce block: keeps the (num_perm x block) matrix in cache
_MAX32 = np.uint32(0xFFFFFFFF)
_U64 = np.uint64


@dataclass(slots=True)
class Sketches:
    """Sketches of a batch of texts; document ``i`` owns ``features[offsets[i]:offsets[i + 1]]``."""

    signatures: NDArray[np.uint32]  # (n_docs, num_perm) uint32; all-max for texts without any word character
    features: NDArray[np.uint16]  # uint16, unique within each document (in no particular order)
    offsets: NDArray[np.int64]  # (n_docs + 1,) int64

    def __len__(self) -> int:
        return len(self.signatures)

    def doc_features(self, i: int) -> NDArray[np.uint16]:
        return self.features[self.offsets[i] : self.offsets[i + 1]]


@cache
def _char_table() -> NDArray[np.uint32]:
    """Map each BMP code point to its lower-case form, or 0 to drop it (punctuation, spaces, symbols).

    Dropping punctuation and whitespace makes re-punctuated or re-spaced copies identical, which is
    the commonest difference between a message and its resubmission.
    """
    table = np.zeros(0x10000, dtype=np.uint32)
    for code in range(0x10000):
        ch = chr(code)
        if ch.isalnum():
            low = ch.lower()
            table[code] = ord(low) if len(low) == 1 else code
    return table


def _fmix64(k: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """MurmurHash3's 64-bit finalizer: an avalanching bijection on uint64 (wrapping arithmetic)."""
    k = k ^ (k >> _U64(33))
    k = k * _U64(0xFF51AFD7ED558CCD)
    k = k ^ (k >> _U64(33))
    k = k * _U64(0xC4CEB9FE1A85EC53)
    mixed: NDArray[np.uint64] = k ^ (k >> _U64(33))
    return mixed


def fmix32(h: NDArray[np.uint32]) -> NDArray[np.uint32]:
    """MurmurHash3's 32-bit finalizer, the pre-mix datasketch applies in its affine schemes."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    mixed: NDArray[np.uint32] = h ^ (h >> np.uint32(16))
    return mixed


def _clean_codepoints(texts: Sequence[str]) -> tuple[NDArray[np.uint64], NDArray[np.int64]]:
    """Code points of all texts (lower-cased, word characters only) and each text's cleaned length."""
    n = len(texts)
    lens = np.fromiter((len(t) for t in texts), dtype=np.int64, count=n)
    raw = np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"), dtype="<u4")
    # Beyond the BMP only the CJK extension planes count as word characters (not emoji).
    astral = np.where((raw >= 0x20000) & (raw < 0x40000), raw, 0)
    mapped = np.where(raw < 0x10000, _char_table()[np.minimum(raw, 0xFFFF)], astral)
    keep = mapped != 0
    kept_before = np.concatenate(([0], np.cumsum(keep, dtype=np.int64)))
    ends = np.cumsum(lens)
    clean_lens = kept_before[ends] - kept_before[ends - lens]
    return mapped[keep].astype(np.uint64), clean_lens


def _shingle_keys(
    chars: NDArray[np.uint64], lens: NDArray[np.int64]
) -> tuple[NDArray[np.uint64], NDArray[np.int64]]:
    """64-bit mixed hash of every char trigram and the number of trigrams per document.

    A code point fits in 21 bits, so three of them pack losslessly into one uint64 before mixing.
    A document shorter than a trigram yields one shingle padded with zeros.
    """
    n = len(lens)
    pad = SHINGLE - 1
    doc_of_char = np.repeat(np.arange(n, dtype=np.int64), lens)
    padded = np.zeros(len(chars) + pad * n + pad, dtype=np.uint64)
    padded[np.arange(len(chars), dtype=np.int64) + pad * doc_of_char] = chars
    counts = np.where(lens >= SHINGLE, lens - pad, np.minimum(lens, 1))
    padded_starts = np.cumsum(lens + pad) - (lens + pad)
    first = np.cumsum(counts) - counts
    pos = np.repeat(padded_starts - first, counts) + np.arange(int(counts.sum()), dtype=np.int64)
    key = padded[pos] << _U64(42)
    key |= padded[pos + 1] << _U64(21)
    key |= padded[pos + 2]
    return _fmix64(key), counts


def shingle_hash32(keys: NDArray[np.uint64]) -> NDArray[np.uint32]:
    """The 32-bit shingle hashes fed to MinHash (upper half of the mixed trigram key)."""
    return (keys >> _U64(32)).astype(np.uint32)


_SCRATCH = threading.local()
_DEDUP_DOCS = 8  # documents deduplicated per pass: 8 x 65536 int32 = 2 MiB of scratch per thread


def _first_occurrences(feats: NDArray[np.int64], counts: NDArray[np.int64]) -> NDArray[np.bool_]:
    """Mask keeping one occurrence of each feature within each document.

    Scatter-then-gather through a per-thread table indexed by (document, feature): whichever
    position wrote a slot last is the one kept. Costs ~2 us per message where ``np.unique`` over
    the batch costs ~50x more.
    """
    scratch = getattr(_SCRATCH, "table", None)
    if scratch is None:
        scratch = _SCRATCH.table = np.empty(_DEDUP_DOCS << FEATURE_BITS, dtype=np.int32)
    bounds = np.concatenate(([0], np.cumsum(counts)))
    keep = np.empty(len(feats), dtype=bool)
    for s in range(0, len(counts), _DEDUP_DOCS):
        e = min(s + _DEDUP_DOCS, len(counts))
        lo, hi = bounds[s], bounds[e]
        slot = np.repeat(np.arange(e - s, dtype=np.int64) << FEATURE_BITS, counts[s:e]) + feats[lo:hi]
        order = np.arange(hi - lo, dtype=np.int32)
        scratch[slot] = order
        keep[lo:hi] = scratch[slot] == order
    return keep


def template_keys(
    texts: Sequence[str], *, min_share: float = TEMPLATE_MIN_SHARE, min_docs: int = TEMPLATE_MIN_DOCS
) -> NDArray[np.uint64]:
    """Sorted trigram keys found in at least ``min_share`` of ``texts`` (a hotline's template text).

    ``texts`` are normalised copies, as the index sees them. Empty below ``min_docs`` texts; at
    most :data:`TEMPLATE_SAMPLE` evenly spaced texts are read.
    """
    if len(texts) < min_docs:
        return np.empty(0, dtype=np.uint64)
    step = max(1, len(texts) // TEMPLATE_SAMPLE)
    sample = list(texts[::step])
    chars, lens = _clean_codepoints(sample)
    keys, counts = _shingle_keys(chars, lens)
    docs = np.repeat(np.arange(len(sample), dtype=np.int64), counts)
    order = np.lexsort((docs, keys))
    keys, docs = keys[order], docs[order]
    first = np.ones(len(keys), dtype=bool)  # one count per (key, document)
    first[1:] = (keys[1:] != keys[:-1]) | (docs[1:] != docs[:-1])
    unique, df = np.unique(keys[first], return_counts=True)
    found: NDArray[np.uint64] = unique[df >= min_share * len(sample)]
    return found


class Sketcher:
    """Computes :class:`Sketches` for batches of texts with a fixed set of MinHash permutations.

    ``templates`` (from :func:`template_keys`) are trigram keys left out of every sketch.
    """

    def __init__(self, num_perm: int, seed: int = 1, templates: Sequence[int] = ()) -> None:
        self.num_perm = num_perm
        self.seed = seed
        self.templates = np.unique(np.asarray(templates, dtype=np.uint64))
        a, b = MinHash(num_perm=num_perm, seed=seed, scheme=SCHEME).permutations
        self._a = np.ascontiguousarray(a, dtype=np.uint32)[:, None]
        self._b = np.ascontiguousarray(b, dtype=np.uint32)[:, None]

    def sketch(self, texts: Sequence[str]) -> Sketches:
        n = len(texts)
        if n == 0:
            return Sketches(
                np.empty((0, self.num_perm), np.uint32), np.empty(0, np.uint16), np.zeros(1, np.int64)
            )
        chars, lens = _clean_codepoints(texts)
        keys, counts = _shingle_keys(chars, lens)
        if len(self.templates):
            keys, counts = self._drop_templates(keys, counts)
        signatures = self._signatures(fmix32(shingle_hash32(keys)), counts)
        feats = (keys & _U64((1 << FEATURE_BITS) - 1)).astype(np.int64)
        first = _first_occurrences(feats, counts)
        kept_before = np.concatenate(([0], np.cumsum(first, dtype=np.int64)))
        offsets = kept_before[np.concatenate(([0], np.cumsum(counts)))]
        return Sketches(signatures, feats[first].astype(np.uint16), offsets)

    def _drop_templates(
        self, keys: NDArray[np.uint64], counts: NDArray[np.int64]
    ) -> tuple[NDArray[np.uint64], NDArray[np.int64]]:
        """``keys`` without the template trigrams, and each document's remaining count."""
        at = np.minimum(np.searchsorted(self.templates, keys), len(self.templates) - 1)
        keep = self.templates[at] != keys
        docs = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
        return keys[keep], np.bincount(docs[keep], minlength=len(counts)).astype(np.int64)

    def _signatures(self, hv: NDArray[np.uint32], counts: NDArray[np.int64]) -> NDArray[np.uint32]:
        """Min over each document's shingles of ``a * hv + b (mod 2**32)`` for every permutation."""
        out = np.full((len(counts), self.num_perm), _MAX32, dtype=np.uint32)
        nonempty = np.flatnonzero(counts)
        starts = np.cumsum(counts) - counts
        ne_starts = starts[nonempty]
        i = 0
        while i < len(nonempty):
            # Take documents until the block is full (at least one, however long it is).
            begin = ne_starts[i]
            j = int(np.searchsorted(ne_starts, begin + _CHUNK_SHINGLES, side="right"))
            j = max(j, i + 1)
            docs = nonempty[i:j]
            end = starts[docs[-1]] + counts[docs[-1]]
            block = self._a * hv[begin:end] + self._b
            out[docs] = np.minimum.reduceat(block, starts[docs] - begin, axis=1).T
            i = j
        return out
