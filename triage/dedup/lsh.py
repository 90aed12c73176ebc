"""datasketch ``MinHashLSH`` with compact, GC-friendly in-memory storage.

The banding, insertion, removal and query logic are datasketch's; only the containers differ.
datasketch's dict storage keeps a ``set`` per bucket and a ``list`` per key: ~6.9 KB per case with
20 bands, and a million GC-tracked containers that every full garbage collection walks. Here a
bucket holds a bare int (or packed int64 bytes when shared) and a case's band keys are one bytes
object: ~2 KB per case, and nothing per case for the garbage collector to visit.
"""

from __future__ import annotations

from array import array
from collections.abc import KeysView
from typing import Any

import numpy as np
from datasketch import MinHashLSH
from datasketch.storage import OrderedStorage, UnorderedStorage
from numpy.typing import NDArray


class _BucketTable(UnorderedStorage):  # type: ignore[misc]  # datasketch ships no type stubs
    """LSH bucket table: a lone case is stored as a bare int, several as packed int64 bytes.

    datasketch's ``defaultdict(set)`` spends a 216-byte set on every bucket, and almost every
    bucket holds one case: with 20 bands that tripled the index's memory. Ints and bytes are not
    GC-tracked either, so these dicts stay untracked and the cyclic garbage collector never walks
    them (with sets, a full collection walked 20 entries per case: seconds at 1M cases).
    """

    def __init__(self) -> None:
        self._d: dict[bytes, int | bytes] = {}

    def keys(self) -> KeysView[bytes]:
        return self._d.keys()

    def get(self, key: bytes) -> tuple[int, ...] | list[int]:
        value = self._d.get(key)
        if value is None:
            return ()
        if isinstance(value, int):
            return (value,)
        slots: list[int] = memoryview(value).cast("q").tolist()
        return slots

    def insert(self, key: bytes, *vals: int, **kwargs: Any) -> None:
        d = self._d
        for val in vals:
            cur = d.get(key)
            if cur is None:
                d[key] = val
            elif isinstance(cur, int):
                if cur != val:
                    d[key] = array("q", (cur, val)).tobytes()
            elif val not in memoryview(cur).cast("q"):
                d[key] = cur + array("q", (val,)).tobytes()

    def remove(self, *keys: bytes, **kwargs: Any) -> None:
        for key in keys:
            del self._d[key]

    def remove_val(self, key: bytes, val: int, **kwargs: Any) -> None:
        cur = self._d[key]
        if isinstance(cur, int):
            if cur == val:
                self._d[key] = b""  # left empty; MinHashLSH then drops the bucket
            return
        slots = array("q", cur)
        if val in slots:
            slots.remove(val)
            self._d[key] = slots[0] if len(slots) == 1 else slots.tobytes()

    def size(self) -> int:
        return len(self._d)

    def itemcounts(self, **kwargs: Any) -> dict[bytes, int]:
        return {key: len(self.get(key)) for key in self._d}

    def has_key(self, key: bytes) -> bool:
        return key in self._d


class _KeyTable(OrderedStorage):  # type: ignore[misc]  # datasketch ships no type stubs
    """Case -> its band keys, kept as one concatenated bytes object (compact and not GC-tracked)."""

    def __init__(self, bands: int) -> None:
        self._d: dict[int, bytes] = {}
        self._bands = bands

    def keys(self) -> KeysView[int]:
        return self._d.keys()

    def get(self, key: int) -> list[bytes]:
        blob = self._d.get(key)
        if blob is None:
            return []
        width = len(blob) // self._bands
        return [blob[i * width : (i + 1) * width] for i in range(self._bands)]

    def insert(self, key: int, *vals: bytes, **kwargs: Any) -> None:
        self._d[key] = b"".join(vals)  # MinHashLSH always passes all band keys at once

    def remove(self, *keys: int, **kwargs: Any) -> None:
        for key in keys:
            del self._d[key]

    def remove_val(self, key: int, val: bytes, **kwargs: Any) -> None:
        raise NotImplementedError("band keys are removed with their case")

    def size(self) -> int:
        return len(self._d)

    def itemcounts(self, **kwargs: Any) -> dict[int, int]:
        return {key: self._bands for key in self._d}

    def has_key(self, key: int) -> bool:
        return key in self._d


class CompactLSH(MinHashLSH):  # type: ignore[misc]  # datasketch ships no type stubs
    """``MinHashLSH`` with compact in-memory bucket tables (same banding, query and removal)."""

    def __init__(self, num_perm: int, bands: int) -> None:
        super().__init__(num_perm=num_perm, params=(bands, num_perm // bands))
        self.hashtables: list[_BucketTable] = [_BucketTable() for _ in range(self.b)]
        self.keys = _KeyTable(self.b)

    def candidates(self, signature: NDArray[np.uint32]) -> set[int]:
        """Same keys as ``query(LeanMinHash(hashvalues=signature))``, ~8x faster.

        datasketch builds each band's bucket key as ``bytes(band.byteswap().data)``; slicing one
        byte-swapped copy of the whole signature gives identical keys without a numpy call per band.
        """
        raw = signature.byteswap().tobytes()
        width = signature.itemsize
        found: set[int] = set()
        for (start, end), table in zip(self.hashranges, self.hashtables, strict=True):
            bucket = table._d.get(raw[start * width : end * width])
            if bucket is None:
                continue
            if isinstance(bucket, int):
                found.add(bucket)
            else:
                found.update(memoryview(bucket).cast("q"))
        return found
