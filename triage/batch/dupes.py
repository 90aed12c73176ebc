"""Near-duplicate groups within one batch file, via the engine's :class:`DuplicateIndex`.

A row joins the group of the most similar earlier *group founder* (similarity ≥ threshold);
otherwise it founds a new group named after its own id. Identical texts always share a group
(looked up by digest, no LSH work). New texts are handled a chunk at a time with one
vectorised lookup, which gives the same groups as handling rows one by one, so the result does
not depend on chunking, workers or engine. Only founders stay indexed, and only the latest
``max_groups`` of them, so memory is bounded however long the file is (for a time-ordered
file that is a recency window).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict, deque
from collections.abc import Sequence

from triage.config import get_settings

_SEP = "\x1f"  # joins row number and display id in the index key (ids may repeat in a file)
DEFAULT_MAX_GROUPS = 50_000  # ~5 KB each when every text is distinct: ~250 MB at most
_K = 64  # candidates per lookup; founders are mutually dissimilar, so few pass


class FileDuplicates:
    def __init__(
        self,
        threshold: float | None = None,
        *,
        max_groups: int = DEFAULT_MAX_GROUPS,
        templates: Sequence[int] = (),
    ) -> None:
        from triage.dedup.lexical import DuplicateIndex

        self.threshold = threshold if threshold is not None else get_settings().duplicate_threshold
        # No time window: a batch file is one snapshot, however old its rows are. The profile's
        # template trigrams are left out, as in the service's index.
        self.index = DuplicateIndex(threshold=self.threshold, window_days=None, templates=templates)
        self.max_groups = max_groups
        self._founders: deque[str] = deque()
        self._exact: OrderedDict[bytes, tuple[str, float | None]] = OrderedDict()  # text digest -> result
        self.groups = 0

    def assign(self, row: int, display_id: str, text: str) -> tuple[str, float | None]:
        return self.assign_many([(row, display_id, text)])[0]

    def assign_many(self, items: Sequence[tuple[int, str, str]]) -> list[tuple[str, float | None]]:
        """For rows in file order: (group id, similarity to the founder, or None for a founder)."""
        out: list[tuple[str, float | None] | None] = [None] * len(items)
        digests = [hashlib.blake2b(text.encode(), digest_size=16).digest() for _, _, text in items]
        fresh: dict[bytes, int] = {}  # first row of each text not seen before
        for i, digest in enumerate(digests):
            if digest not in self._exact:
                fresh.setdefault(digest, i)
        uniq = sorted(fresh.values())
        if uniq:
            self._resolve(items, uniq, digests)
        for i, digest in enumerate(digests):
            group, score = self._exact[digest]
            # identical text: same group; a founder's copies score 1.0 against it
            out[i] = (group, score) if fresh.get(digest) == i else (group, score or 1.0)
        self._trim()
        return out  # type: ignore[return-value]

    def _resolve(self, items: Sequence[tuple[int, str, str]], uniq: list[int], digests: list[bytes]) -> None:
        """Group the chunk's new texts: index them tentatively, look up all at once, then keep
        as founders only those with no earlier founder above the threshold."""
        keys = {i: f"{items[i][0]}{_SEP}{items[i][1]}" for i in uniq}
        position = {keys[i]: i for i in uniq}
        texts = [items[i][2] for i in uniq]
        self.index.add_many((keys[i], items[i][2], None) for i in uniq)
        found = self.index.query_many(texts, k=_K, exclude=[keys[i] for i in uniq])
        founders: set[int] = set()
        for i, cands in zip(uniq, found, strict=True):
            choice = None
            for c in cands:  # best first
                j = position.get(c.case_id)
                if j is None or (j < i and j in founders):  # an earlier founder (this chunk or before)
                    choice = c
                    break
            if choice is None:
                founders.add(i)
                self._exact[digests[i]] = (items[i][1], None)
            else:
                group = choice.case_id.split(_SEP, 1)[1]
                self._exact[digests[i]] = (group, round(float(choice.score), 4))
        for i in uniq:
            if i in founders:
                self._founders.append(keys[i])
            else:
                self.index.remove(keys[i])
        self.groups += len(founders)

    def _trim(self) -> None:
        while len(self._founders) > self.max_groups:
            self.index.remove(self._founders.popleft())
        while len(self._exact) > 2 * self.max_groups:
            self._exact.popitem(last=False)
