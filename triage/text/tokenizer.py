"""jieba tokenization, initialised once with the project's governance dictionary.

The same :func:`tokenize` is used when training and when triaging, so the model never
sees tokens produced differently from the ones it was trained on.
"""

from __future__ import annotations

import logging
import math
import re
import sys
import threading
from collections.abc import Iterable
from functools import cache, lru_cache
from importlib import resources

import jieba

_LOCK = threading.Lock()
_TOKENIZER: jieba.Tokenizer | None = None
# Drop pure punctuation, whitespace, digits and the anonymised place codes (A3区 → "A3").
_NOISE_RE = re.compile(r"^(?:[\W_]+|\d+(?:\.\d+)?|[A-Za-z]\d{0,3})$")
USE_HMM = False  # HMM new-word discovery adds ~30% time and mostly invents names and places


def _resource(name: str) -> str:
    return resources.files("triage").joinpath("resources").joinpath(name).read_text(encoding="utf-8")


@cache
def stopwords() -> frozenset[str]:
    lines = (line.strip() for line in _resource("stopwords.txt").splitlines())
    return frozenset(line for line in lines if line and not line.startswith("#"))


def get_tokenizer() -> jieba.Tokenizer:
    """Return the process-wide jieba tokenizer, loading dictionaries on first use."""
    global _TOKENIZER
    if _TOKENIZER is None:
        with _LOCK:
            if _TOKENIZER is None:
                jieba.setLogLevel(logging.WARNING)
                tok = jieba.Tokenizer()
                tok.initialize()
                for line in _resource("userdict.txt").splitlines():
                    parts = line.split()
                    if parts and not parts[0].startswith("#"):
                        freq = int(parts[1]) if len(parts) > 1 else None
                        tag = parts[2] if len(parts) > 2 else None
                        tok.add_word(parts[0], freq, tag)
                _TOKENIZER = tok
    return _TOKENIZER


def user_terms() -> list[str]:
    """Governance terms from the user dictionary (used by tests and the routing rules)."""
    return [line.split()[0] for line in _resource("userdict.txt").splitlines() if line.strip()]


_KEEP: dict[str, bool] = {}  # word → is it a content token? (the vocabulary is bounded; see _keep)
_KEEP_MAX = 500_000


def _keep(word: str) -> bool:
    """Whether ``word`` is a content token; memoised because it runs once per token on the hot path."""
    keep = _KEEP.get(word)
    if keep is None:
        keep = bool(word.strip()) and word not in stopwords() and not _NOISE_RE.match(word)
        if len(_KEEP) < _KEEP_MAX:
            _KEEP[word] = keep
    return keep


# Block cache: jieba cuts a text into runs of CJK/alphanumerics and runs of the rest, then segments
# each run on its own. The words of a run therefore depend on the run alone, and a hotline's orders
# repeat runs a lot ("来电人反映", "请相关部门处理", addresses): 39 % of the characters of the Haikou
# export are in runs seen before in it. Each entry holds the run's words and its content tokens
# (the same string objects), so place extraction reads the cut that tokenizing made instead of
# cutting again. Bounded at 8,192 runs (~5 MB with TipDM's long messages): 32,768 runs held ~17 MB
# of every worker's memory for a hit rate of 0.58 instead of 0.54 over 4,326 messages (the runs
# that repeat most — boilerplate, common addresses — stay cached either way).
BLOCK_CACHE_SIZE = 8_192
_BLOCKS = jieba.re_han_default  # the same split jieba.Tokenizer.cut applies (cut_all=False)
_SKIP = jieba.re_skip_default  # how jieba splits the runs between CJK runs (whitespace apart)


def _cut_han(run: str, freq: dict[str, int], log_total: float) -> list[str]:
    """jieba's exact segmentation of one CJK/alphanumeric run without HMM, computed faster.

    The same dynamic programme as ``Tokenizer.get_DAG`` + ``calc`` + ``__cut_DAG_NO_HMM`` over the
    same prefix dictionary — the best route's score is the same float expression, ties go to the
    longer word as ``max`` over (score, end) gives them, and single ASCII letters/digits are joined
    as jieba joins them — but fused into one loop without the DAG dict, the generator and the tuples
    (≈ 1.6 × faster; tests compare it with ``lcut`` word for word).
    """
    log = math.log
    n = len(run)
    score = [0.0] * (n + 1)
    end = list(range(n + 1))  # end[i]: last character of the best word starting at i
    for start in range(n - 1, -1, -1):
        best: float | None = None
        i = start
        f = freq.get(run[start])
        while f is not None:  # every prefix dictionary entry starting here; f == 0: a prefix only
            if f:
                s = log(f) - log_total + score[i + 1]
                if best is None or s >= best:
                    best, end[start] = s, i
            i += 1
            if i == n:
                break
            f = freq.get(run[start : i + 1])
        score[start] = -log_total + score[start + 1] if best is None else best  # log(1): unknown char
    words: list[str] = []
    letters = ""
    x = 0
    while x < n:
        y = end[x] + 1
        word = run[x:y]
        if y - x == 1 and word.isascii() and word.isalnum():  # jieba's re_eng, for one character
            letters += word
        else:
            if letters:
                words.append(letters)
                letters = ""
            words.append(word)
        x = y
    if letters:
        words.append(letters)
    return words


def _segment(block: str) -> list[str]:
    """``get_tokenizer().lcut(block, HMM=USE_HMM)`` for one block of ``_BLOCKS.split`` (tested equal)."""
    tok = get_tokenizer()
    if USE_HMM:
        return list(tok.lcut(block, HMM=True))
    if _BLOCKS.match(block):
        return _cut_han(block, tok.FREQ, math.log(tok.total))
    words: list[str] = []
    for part in _SKIP.split(block):
        if _SKIP.match(part):
            words.append(part)
        else:
            words.extend(part)
    return words


@lru_cache(maxsize=BLOCK_CACHE_SIZE)
def _block_cut(block: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(every word, content tokens) of one run, exactly as they come out of segmenting the whole text."""
    keep = _KEEP.get
    # interned: the same few thousand words recur in every run, one string object each
    words = tuple(map(sys.intern, _segment(block)))
    out = []
    for word in words:
        k = keep(word)
        if k is None:
            k = _keep(word)
        if k:
            out.append(word)
    return words, tuple(out)


def clear_block_cache() -> None:
    """Forget cached runs (benchmarks measure from a cold cache; a dictionary change needs it too)."""
    _block_cut.cache_clear()


def block_cache_info() -> tuple[int, int]:
    """(hits, misses) of the block cache since it was last cleared."""
    info = _block_cut.cache_info()
    return info.hits, info.misses


_WORDS, _TOKENS = 0, 1  # the two halves of a block-cache entry


def _from_blocks(text: str, half: int) -> list[str]:
    out: list[str] = []
    for block in _BLOCKS.split(text):
        if block:
            out.extend(_block_cut(block)[half])
    return out


def tokenize(text: str) -> list[str]:
    """Content tokens of ``text``: jieba words without stopwords, punctuation or numbers.

    Identical to filtering ``get_tokenizer().lcut(text, HMM=USE_HMM)``; runs seen before come from
    the block cache.
    """
    return _from_blocks(text, _TOKENS)


def cut_words(text: str) -> list[str]:
    """Every jieba word of ``text``, stopwords and punctuation included: ``lcut(text, HMM=USE_HMM)``
    from the block cache (what :func:`tokenize` just cut costs nothing here)."""
    return _from_blocks(text, _WORDS)


def tokenize_many(texts: Iterable[str]) -> list[list[str]]:
    return [tokenize(t) for t in texts]
