"""Category classifier: word + character n-gram TF-IDF, a linear SVM, temperature-scaled probabilities.

Input is what :func:`triage.text.tokenizer.tokenize` returns (one token list per message): the pipeline
tokenizes once and shares the tokens, so nothing here re-tokenizes. Character n-grams come from
``"".join(tokens)``; they match the training data (jieba tokens, stopwords removed, re-joined) and
stay robust where raw and pre-tokenized text segment differently.

Featurization is vectorised with numpy instead of ``TfidfVectorizer`` because the serving budget is
a fraction of jieba's own cost per message: tokens and characters map to dense ids, n-grams become
integer keys looked up in an open-addressing hash table (:mod:`triage.classify.ngram_keys`; an n-gram
is only looked up when both of its (n-1)-grams are features), and a batch becomes one CSR matrix
without a Python loop per n-gram.
The maths equals ``TfidfVectorizer(sublinear_tf=True, min_df=…)`` with each block L2-normalised.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from itertools import chain, repeat
from typing import Any, Required, TypedDict

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray
from scipy.special import softmax
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from triage.classify.linear import ClassWeight, fit_linear, fit_temperature
from triage.classify.ngram_keys import (
    BLOCK_SHIFT,
    CHAR,
    N_SHIFT,
    PAYLOAD_BITS,
    WORD,
    HashIndex,
    document_frequency,
    feature_key,
)

__all__ = ["CategoryClassifier", "Resolver", "fit_linear", "fit_temperature"]

_BMP = 0x10000  # characters outside the Basic Multilingual Plane act as breaks


# resolve(block, n, keys, owning docs) -> feature row per key (-1 = not a feature)
Resolver = Callable[[int, int, NDArray[np.int64], NDArray[np.int64]], NDArray[np.integer[Any]]]


class _Runtime(TypedDict, total=False):
    """Lookup tables derived from the learned state (see ``_build_runtime``).

    ``index``, ``unigram_offset`` and ``terms`` exist once the vocabulary is learned, ``coef_t`` once
    the weights are."""

    word_ids: Required[dict[str, int]]
    char_ids: Required[NDArray[np.int64]]
    index: HashIndex
    unigram_offset: NDArray[np.int64]
    terms: dict[int, tuple[str, int]]  # feature column → (text, block), filled lazily by ``_term``
    coef_t: NDArray[np.float32]


class CategoryClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]  # sklearn has no stubs
    """Linear text classifier over token lists with calibrated ``predict_proba`` and ``explain``.

    One ``LinearSVC`` is trained on all data (so ``explain`` reads one weight matrix); probabilities
    are ``softmax(decision / temperature_)`` with the temperature fitted on cross-validated decision
    values (temperature scaling keeps ``predict`` equal to the SVM's argmax). ``calibration_cv`` < 2
    skips calibration (temperature 1): cheaper when only ``predict`` matters, e.g. held-out scoring.
    """

    def __init__(
        self,
        word_ngram_range: tuple[int, int] = (1, 2),
        char_ngram_range: tuple[int, int] = (1, 3),
        word_min_df: int = 3,
        char_min_df: int = 5,
        C: float = 1.0,
        class_weight: ClassWeight = "balanced",
        calibration_cv: int = 3,
        tol: float = 1e-3,
        random_state: int = 0,
    ) -> None:
        self.word_ngram_range = word_ngram_range
        self.char_ngram_range = char_ngram_range
        self.word_min_df = word_min_df
        self.char_min_df = char_min_df
        self.C = C
        self.class_weight = class_weight
        self.calibration_cv = calibration_cv
        self.tol = tol
        self.random_state = random_state

    # ----------------------------------------------------------------- fitting
    def fit(self, X: Sequence[Sequence[str]], y: ArrayLike) -> CategoryClassifier:
        docs = self._check_docs(X)
        for name in [k for k in vars(self) if k.endswith("_") and not k.startswith("_")]:
            delattr(self, name)  # a re-fit must not see the previous vocabulary
        labels = np.asarray(y)
        if len(labels) != len(docs):
            raise ValueError(f"X has {len(docs)} documents but y has {len(labels)} labels")
        classes, counts = np.unique(labels, return_counts=True)
        if len(classes) < 2 or counts.min() < 2:
            raise ValueError("need at least two classes with two or more examples each")
        strings = ["".join(d) for d in docs]
        self.word_vocab_, word_df = self._word_vocab(docs)
        self.char_vocab_, char_df = self._char_vocab(strings)
        self.word_bits_ = max(1, len(self.word_vocab_).bit_length())
        self.char_bits_ = max(1, len(self.char_vocab_).bit_length())
        for rng, bits in ((self.word_ngram_range, self.word_bits_), (self.char_ngram_range, self.char_bits_)):
            if not 1 <= rng[0] <= rng[1] or rng[1] * bits > PAYLOAD_BITS:
                raise ValueError(f"unsupported n-gram range {rng} for a vocabulary of 2**{bits} ids")
        self._build_runtime()

        found: list[tuple[NDArray[np.int64], NDArray[np.int64]]] = []  # (keys, df) of every feature

        def keep_frequent(
            block: int, n: int, keys: NDArray[np.int64], owner: NDArray[np.int64]
        ) -> NDArray[np.int64]:
            uniq, df, inverse = document_frequency(keys, owner)
            kept = df >= (self.word_min_df if block == WORD else self.char_min_df)
            lo = (self.word_ngram_range if block == WORD else self.char_ngram_range)[0]
            if n >= lo:
                found.append((uniq[kept], df[kept]))
            return np.where(kept[inverse], 0, -1)

        for block, ids, owner in self._id_arrays(docs, strings):
            if self._ngram_range(block)[0] == 1:
                df = word_df if block == WORD else char_df
                found.append((feature_key(block, 1, np.arange(1, len(df) + 1, dtype=np.int64)), df))
            self._walk(block, ids, owner, keep_frequent)
        keys, df = (np.concatenate(parts) for parts in zip(*found, strict=True))
        order = np.argsort(keys)
        self.feature_keys_, self.idf_ = keys[order], np.log((1 + len(docs)) / (1 + df[order])) + 1.0
        self.n_word_features_ = int(np.searchsorted(self.feature_keys_, np.int64(1) << BLOCK_SHIFT))
        self._build_runtime()

        features = self.transform(docs)
        self.n_features_in_ = features.shape[1]
        self.classes_, self.coef_, self.intercept_, self.temperature_ = fit_linear(
            features,
            labels,
            C=self.C,
            class_weight=self.class_weight,
            calibration_cv=self.calibration_cv,
            tol=self.tol,
            random_state=self.random_state,
        )
        self._build_runtime()
        return self

    @staticmethod
    def _check_docs(X: Sequence[Sequence[str]]) -> list[Sequence[str]]:
        if isinstance(X, str) or not all(isinstance(d, list | tuple) for d in X):
            raise TypeError("X must be a list of token lists (tokenize each text first)")
        return list(X)

    def _word_vocab(self, docs: list[Sequence[str]]) -> tuple[list[str], NDArray[np.int64]]:
        df = Counter(chain.from_iterable(map(set, docs)))
        keep = sorted(t for t, c in df.items() if c >= self.word_min_df)
        return ["", *keep], np.array([df[t] for t in keep], dtype=np.int64)  # id 0 = unknown / break

    def _char_vocab(self, strings: list[str]) -> tuple[list[str], NDArray[np.int64]]:
        codes = np.frombuffer("".join(strings).encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
        owner = np.repeat(np.arange(len(strings)), np.fromiter(map(len, strings), np.int64, len(strings)))
        uniq, df, _ = document_frequency(codes, owner)
        keep = (df >= self.char_min_df) & (uniq < _BMP)
        return ["", *map(chr, uniq[keep])], df[keep]

    # --------------------------------------------------------- featurization
    def _build_runtime(self) -> None:
        """Lookup tables derived from the learned state; rebuilt after unpickling, never saved."""
        char_ids = np.zeros(_BMP, dtype=np.int64)
        char_ids[[ord(c) for c in self.char_vocab_[1:]]] = np.arange(1, len(self.char_vocab_))
        rt: _Runtime = {"word_ids": {t: i for i, t in enumerate(self.word_vocab_) if i}, "char_ids": char_ids}
        if hasattr(self, "feature_keys_"):
            rt["index"] = HashIndex(self.feature_keys_)
            first = [feature_key(block, 1, np.ones(1, dtype=np.int64))[0] for block in (WORD, CHAR)]
            rt["unigram_offset"] = np.searchsorted(self.feature_keys_, first) - 1
            rt["terms"] = {}
        if hasattr(self, "coef_"):
            rt["coef_t"] = np.ascontiguousarray(self.coef_.T)
        self._rt = rt

    def _ngram_range(self, block: int) -> tuple[int, int]:
        return self.word_ngram_range if block == WORD else self.char_ngram_range

    def _id_arrays(
        self, docs: Sequence[Sequence[str]], strings: list[str]
    ) -> list[tuple[int, NDArray[np.int64], NDArray[np.int64]]]:
        """(block, id per token/char with 0 = unknown, owning document) for words and chars."""
        lens = np.fromiter(map(len, docs), np.int64, count=len(docs))
        flat = map(self._rt["word_ids"].get, chain.from_iterable(docs), repeat(0))
        wids = np.fromiter(flat, np.int64, count=int(lens.sum()))
        codes = np.frombuffer("".join(strings).encode("utf-32-le"), dtype=np.uint32)
        cids = self._rt["char_ids"][np.minimum(codes, _BMP - 1)]
        cids[codes >= _BMP] = 0
        clens = np.fromiter(map(len, strings), np.int64, count=len(strings))
        doc_index = np.arange(len(docs))
        return [(WORD, wids, np.repeat(doc_index, lens)), (CHAR, cids, np.repeat(doc_index, clens))]

    def _walk(
        self, block: int, ids: NDArray[np.int64], owner: NDArray[np.int64], resolve: Resolver
    ) -> list[tuple[NDArray[np.int64], NDArray[np.integer[Any]]]]:
        """Resolve n-grams level by level; an n-gram is a candidate only if both its (n-1)-grams were."""
        lo, hi = self._ngram_range(block)
        bits = self.word_bits_ if block == WORD else self.char_bits_
        hit, payload, out = ids > 0, ids, []
        for n in range(2, hi + 1):
            m = len(ids) - n + 1
            if m <= 0:
                break
            payload = (payload[:m] << bits) | ids[n - 1 :]
            ok = hit[:m] & hit[1 : m + 1]
            if n == 2:
                ok &= owner[:m] == owner[1:]
            pos = np.flatnonzero(ok)
            feat = resolve(block, n, feature_key(block, n, payload[pos]), owner[pos])
            good = feat >= 0
            hit = np.zeros(m, dtype=bool)
            hit[pos[good]] = True
            if n >= lo:
                out.append((owner[pos[good]], feat[good]))
        return out

    def transform(self, X: Sequence[Sequence[str]]) -> sp.csr_matrix:
        """TF-IDF features (sublinear tf, idf, each block L2-normalised) of token lists, float32."""
        check_is_fitted(self, "feature_keys_")
        docs = self._check_docs(X)
        if not docs:
            return sp.csr_matrix((0, len(self.feature_keys_)), dtype=np.float32)
        index: HashIndex = self._rt["index"]
        parts = []
        for block, ids, owner in self._id_arrays(docs, ["".join(d) for d in docs]):
            if self._ngram_range(block)[0] == 1:
                known = ids > 0
                parts.append((owner[known], ids[known] + self._rt["unigram_offset"][block]))
            parts += self._walk(block, ids, owner, lambda _b, _n, keys, _o: index.lookup(keys))
        row, col = (np.concatenate(p) for p in zip(*parts, strict=True))
        order = np.argsort(row, kind="stable")  # runs are already sorted: a cheap merge
        n_docs = len(docs)
        indptr = np.concatenate([[0], np.cumsum(np.bincount(row, minlength=n_docs))])
        shape = (n_docs, len(self.feature_keys_))
        features = sp.csr_matrix((np.ones(len(col), np.float32), col[order], indptr), shape=shape)
        features.sum_duplicates()  # data = term counts
        row = np.repeat(np.arange(n_docs), np.diff(features.indptr))
        data = (1.0 + np.log(features.data)) * self.idf_[features.indices]
        group = row * 2 + (features.indices >= self.n_word_features_)
        data /= np.sqrt(np.bincount(group, weights=data * data, minlength=2 * n_docs))[group]
        features.data = data.astype(np.float32)
        return features

    # ------------------------------------------------------------ prediction
    def features(self, X: Sequence[Sequence[str]]) -> sp.csr_matrix:
        """:meth:`transform`, cached for the last batch: heads sharing this vocabulary reuse it."""
        return self._features(X)

    def _features(self, X: Sequence[Sequence[str]]) -> sp.csr_matrix:
        """Features of X, reused when ``explain`` follows ``predict_proba`` on the same batch.

        The batch counts as the same when it holds the same token list objects with the same
        lengths, whatever list holds them (the route stage rebuilds the list; a caller that refills
        its token lists with other tokens of other lengths still gets fresh features).
        One batch is kept per estimator; concurrent callers at worst recompute.
        """
        key = (tuple(map(id, X)), tuple(map(len, X)))
        last = getattr(self, "_last", None)
        if last is not None and last[1] == key:  # last[0] keeps those token lists (and ids) alive
            return last[2]
        features = self.transform(X)
        self._last = (X, key, features)
        return features

    def decision_function(self, X: Sequence[Sequence[str]]) -> NDArray[np.float64]:
        check_is_fitted(self, "coef_")
        scores: NDArray[np.float64] = self._features(X) @ self._rt["coef_t"] + self.intercept_
        return scores

    def predict_proba(self, X: Sequence[Sequence[str]]) -> NDArray[np.float64]:
        proba: NDArray[np.float64] = softmax(self.decision_function(X) / self.temperature_, axis=1)
        return proba

    def predict(self, X: Sequence[Sequence[str]]) -> NDArray[Any]:
        labels: NDArray[Any] = self.classes_[np.argmax(self.decision_function(X), axis=1)]
        return labels

    def explain(
        self,
        X: Sequence[Sequence[str]],
        class_indices: Sequence[int] | NDArray[np.integer[Any]],
        n_terms: int = 5,
    ) -> list[list[str]]:
        """Terms that pushed each document toward ``class_indices[i]`` (largest weight × tf-idf).

        Terms are words or adjacent word pairs (joined, as Chinese is written); a character n-gram
        is shown as the token that holds it (n-grams spanning two tokens are skipped). Terms of two
        or more characters come first, and a term contained in (or containing) one already chosen
        is skipped.
        """
        check_is_fitted(self, "coef_")
        features = self._features(X)
        if len(class_indices) != features.shape[0]:
            raise ValueError("class_indices needs one class per document")
        width = 4 * n_terms + 8
        indptr = features.indptr
        lengths = np.diff(indptr)
        # every document's weight × tf-idf in one vectorised product (no per-row indexing of coef_)
        owner = np.repeat(np.asarray(class_indices, dtype=np.int64), lengths)
        all_contrib = features.data * self.coef_[owner, features.indices]
        ranked = _top_positions(-all_contrib, indptr, width)
        shown = np.minimum(lengths, width)
        flat = ranked[np.arange(width) < shown[:, None]]  # row by row, strongest first
        # a row's terms are read in descending weight until the first non-positive one
        stop = np.concatenate([[0], np.cumsum(shown)])
        bad = np.flatnonzero(all_contrib[flat] <= 0)
        first_bad = np.append(bad, len(flat))[np.searchsorted(bad, stop[:-1])]
        cols_all = features.indices[flat].tolist()
        ends = np.minimum(first_bad, stop[1:]).tolist()
        return [
            self._pick_terms(cols_all[lo:hi], X[i], n_terms)
            for i, (lo, hi) in enumerate(zip(stop[:-1].tolist(), ends, strict=True))
        ]

    def _pick_terms(self, columns: Sequence[int], tokens: Sequence[str], n_terms: int) -> list[str]:
        """Terms shown for features ``columns`` given in descending contribution order.

        Greedy in weight order, terms of two or more characters before single characters: the long
        terms are chosen as they come, so the scan stops once ``n_terms`` of them are chosen.
        """
        cache = self._rt["terms"]
        spaced = ""
        terms: list[str] = []
        short: list[str] = []
        for col in columns:
            term, block = cache.get(col) or self._term(col)
            if block == CHAR:  # show the whole token holding the n-gram; skip n-grams spanning two
                spaced = spaced or " " + " ".join(tokens) + " "
                at = spaced.find(term)
                if at < 0:
                    continue
                term = spaced[spaced.rfind(" ", 0, at) + 1 : spaced.find(" ", at)]
            if len(term) < 2:
                short.append(term)
            elif not _overlaps(term, terms):
                terms.append(term)
                if len(terms) == n_terms:
                    return terms
        for term in short:
            if len(terms) == n_terms:
                break
            if not _overlaps(term, terms):
                terms.append(term)
        return terms

    def _term(self, feature: int) -> tuple[str, int]:
        """Text of a feature and its block (cached: explain decodes the same strong terms often)."""
        cache = self._rt["terms"]
        if feature not in cache:
            key = int(self.feature_keys_[feature])
            block, n = (key >> BLOCK_SHIFT) & 1, (key >> N_SHIFT) & 0b111
            bits = self.word_bits_ if block == WORD else self.char_bits_
            vocab = self.word_vocab_ if block == WORD else self.char_vocab_
            ids = [(key >> (bits * (n - 1 - j))) & ((1 << bits) - 1) for j in range(n)]
            cache[feature] = ("".join(vocab[i] for i in ids), block)
        return cache[feature]

    # ------------------------------------------------------------ persistence
    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())  # object.__getstate__ returns the live __dict__
        state.pop("_rt", None)
        state.pop("_last", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        if "char_vocab_" in state:
            self._build_runtime()


def _overlaps(term: str, chosen: Sequence[str]) -> bool:
    """Whether ``term`` is inside, or holds, a term already chosen (a loop, not ``any()`` over a
    generator: explanations run it ~10 times per triaged text)."""
    for other in chosen:  # noqa: SIM110 - see the docstring
        if term in other or other in term:
            return True
    return False


def _top_positions(neg: NDArray[np.floating[Any]], indptr: NDArray[Any], width: int) -> NDArray[np.int64]:
    """Per CSR row, positions of its ``width`` smallest ``neg`` values in ascending order (-1 pads).

    Exactly what ``top = argpartition(row, width)[:width]; top[argsort(row[top])]`` gives row by
    row — ties included, which are common (features that always co-occurred get equal weights) —
    but with one numpy call per distinct row length instead of several per row: a 2-D
    argpartition/argsort runs the same 1-D kernel on every row.
    """
    lengths = np.diff(indptr)
    starts = indptr[:-1].astype(np.int64)
    out = np.full((len(lengths), width), -1, dtype=np.int64)
    long_rows = np.flatnonzero(lengths > width)
    if len(long_rows):
        tops = np.empty((len(long_rows), width), dtype=np.int64)
        long_lengths = lengths[long_rows]
        for n in np.unique(long_lengths).tolist():
            sel = np.flatnonzero(long_lengths == n)
            pos = starts[long_rows[sel]][:, None] + np.arange(n)
            tops[sel] = np.take_along_axis(pos, np.argpartition(neg[pos], width, axis=1)[:, :width], axis=1)
        out[long_rows] = np.take_along_axis(tops, np.argsort(neg[tops], axis=1), axis=1)
    for n in np.unique(lengths[(lengths > 0) & (lengths <= width)]).tolist():
        rows = np.flatnonzero(lengths == n)
        pos = starts[rows][:, None] + np.arange(n)
        out[rows, :n] = np.take_along_axis(pos, np.argsort(neg[pos], axis=1), axis=1)
    return out
