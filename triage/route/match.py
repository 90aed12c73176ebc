"""Word-aligned detection of configured terms (rule terms and category hints) in a message.

A term matches where it occurs in the normalised text and its occurrence is aligned with jieba's
words: it starts at a word boundary, lies inside one word, or starts inside a word of which it
takes at least the last two characters. So 电梯 matches inside 加装电梯 (one dictionary word) and
安全隐患 inside 消防安全|隐患, while 协调解决 does not contain 调解, 虚假宣传销售 not 传销 and
增加班次 not 加班 — the false hits that plain substring search produces on two-character terms.

Alignment is checked per token, not per occurrence: a term is found when it occurs in the text and
some token of the message could begin it. This is also what makes matching cheap: each distinct
token is examined once (cached) for the terms that could start in it, so a message costs a pass
over its tokens in C plus a few ``in`` checks. Terms that may start inside a token the tokenizer
drops (stopwords, numbers, Latin codes) are gated on the token that follows, or checked directly
when nothing follows them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence

_CACHE_LIMIT = 200_000  # distinct tokens; jieba without HMM yields a bounded vocabulary anyway
_MIN_TAIL = 2  # a term starting inside a word must take at least this many of its last characters


def _is_cjk(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"


class TermMatcher:
    """Which of a fixed set of terms occur in a text (word-aligned, see the module docstring)."""

    def __init__(
        self,
        terms: Iterable[str],
        dropped_tokens: Iterable[str] = (),
        segment: Callable[[str], list[str]] | None = None,
    ) -> None:
        self._terms = frozenset(t for t in terms if t)
        self._max_len = max((len(t) for t in self._terms), default=0)
        dropped = frozenset(w for w in dropped_tokens if w)
        dropped_tails = {w[i:] for w in dropped for i in range(len(w)) if i == 0 or len(w) - i >= _MIN_TAIL}
        prefixes: dict[str, set[str]] = {}  # every prefix of a gate key → terms
        inner: dict[str, set[str]] = {}  # gate key → terms (a key wholly inside a token)
        unanchored: set[str] = set()

        def anchor(key: str, term: str) -> None:
            # A one-character word is only a gate for terms that themselves split after their first
            # character (违|停); otherwise every message with a lone 路 or 市 would check 路灯 and 市政.
            single = segment is None or len(segment(key)[0]) == 1
            for i in range(1 if single else 2, len(key) + 1):
                prefixes.setdefault(key[:i], set()).add(term)
            inner.setdefault(key, set()).add(term)

        for term in self._terms:
            anchor(term, term)
            if not _is_cjk(term[0]):
                unanchored.add(term)
                continue
            for cut in {len(tail) for tail in dropped_tails if term.startswith(tail)}:
                rest = term[cut:]  # begins at the token after the dropped one
                if (
                    not rest
                    or not _is_cjk(rest[0])
                    or any(rest.startswith(d) or d.startswith(rest) for d in dropped)
                ):
                    unanchored.add(term)
                else:
                    anchor(rest, term)
        self._prefixes = {k: tuple(v) for k, v in prefixes.items()}
        self._inner = {k: tuple(v) for k, v in inner.items()}
        self._unanchored = tuple(sorted(unanchored))
        self._cache: dict[str, tuple[str, ...]] = {}
        self._lock = threading.Lock()

    @property
    def terms(self) -> frozenset[str]:
        return self._terms

    @property
    def unanchored(self) -> tuple[str, ...]:
        return self._unanchored

    def _candidates(self, token: str) -> tuple[str, ...]:
        """Terms that could start inside ``token``."""
        out: set[str] = set()
        n = len(token)
        for i in range(n):
            if (i == 0 or n - i >= _MIN_TAIL) and n - i <= self._max_len:
                out.update(self._prefixes.get(token[i:], ()))
            for j in range(i + 1, min(n, i + self._max_len) + 1):
                out.update(self._inner.get(token[i:j], ()))
        return tuple(out)

    def _learn(self, new_tokens: Iterable[str]) -> None:
        with self._lock:
            if len(self._cache) > _CACHE_LIMIT:
                self._cache.clear()
            for token in new_tokens:
                self._cache[token] = self._candidates(token)

    def find(self, text: str, tokens: Sequence[str]) -> set[str]:
        """Terms occurring in ``text``; ``tokens`` must be ``triage.text.tokenizer.tokenize(text)``."""
        try:  # fast path, all tokens seen before: one C-level pass over the tokens
            candidates = set().union(*filter(None, map(self._cache.__getitem__, tokens)), self._unanchored)
        except KeyError:
            self._learn({t for t in tokens if t not in self._cache})
            candidates = set().union(*filter(None, map(self._cache.__getitem__, tokens)), self._unanchored)
        return {term for term in candidates if term in text}
