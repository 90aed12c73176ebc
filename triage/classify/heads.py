"""Extra prediction heads over the category classifier's features: category path and request type.

A city's taxonomy has several levels and its work orders a request type (咨询类, 投诉类, 紧急类 …).
Each head is a linear SVM with temperature-scaled probabilities (``classifier.fit_linear``)
over the *same* TF-IDF features as the first-level classifier, so one featurisation per message
serves every head: the serving budget is set by jieba, not by the number of heads.

The hierarchical head predicts full paths (``城管问题 › 占道经营 › …``, deepest level with enough
examples) and conditions them on the first level, so the levels shown never disagree with the
first-level category the case carries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.special import softmax

from triage.classify.classifier import CategoryClassifier
from triage.classify.linear import fit_linear

PATH_SEPARATOR = " › "


class LinearHead:
    """One linear SVM over shared features; ``predict_proba`` is calibrated by a temperature."""

    classes_: NDArray[Any]
    coef_: NDArray[np.float32]
    intercept_: NDArray[np.float64]
    temperature_: float

    def __init__(
        self,
        *,
        C: float = 1.0,
        class_weight: str | dict[Any, float] | None = "balanced",
        calibration_cv: int = 3,
    ) -> None:
        self.C = C
        self.class_weight = class_weight
        self.calibration_cv = calibration_cv

    def fit(self, features: sp.csr_matrix, y: Sequence[str]) -> LinearHead:
        labels = np.asarray(y)
        classes, counts = np.unique(labels, return_counts=True)
        if len(classes) < 2 or counts.min() < 2:
            raise ValueError("need at least two classes with two or more examples each")
        self.classes_, self.coef_, self.intercept_, self.temperature_ = fit_linear(
            features, labels, C=self.C, class_weight=self.class_weight, calibration_cv=self.calibration_cv
        )
        self._set_weights()
        return self

    def _set_weights(self, order: NDArray[np.int64] | None = None) -> None:
        """Serving copy of the weights, features × classes, columns in ``order`` (default: as trained)."""
        self._order = np.arange(len(self.classes_)) if order is None else order
        self._position = np.argsort(self._order)
        self._identity = bool((self._order == np.arange(len(self._order))).all())
        self._coef_t = np.ascontiguousarray((self.coef_ if self._identity else self.coef_[self._order]).T)

    def group_columns(self, order: NDArray[np.int64]) -> None:
        """Store the classes' weights in ``order``, so that :meth:`class_scores` reads a group of
        neighbouring classes from one contiguous slice per feature (memory traffic, not arithmetic,
        bounds a sparse × dense product over a 10⁵ × 200 matrix)."""
        self._set_weights(np.asarray(order, dtype=np.int64))

    def decision_function(self, features: sp.csr_matrix) -> NDArray[np.float64]:
        scores = features @ self._coef_t
        if not self._identity:
            scores = scores[:, self._position]
        return np.asarray(scores + self.intercept_, dtype=np.float64)

    def predict_proba(self, features: sp.csr_matrix) -> NDArray[np.float64]:
        return np.asarray(softmax(self.decision_function(features) / self.temperature_, axis=1))

    def class_scores(
        self, features: sp.csr_matrix, rows: NDArray[np.int64], lo: int, hi: int
    ) -> NDArray[np.float64]:
        """``decision_function(features)[rows][:, order[lo:hi]]`` without computing the other classes
        (``order`` as given to :meth:`group_columns`).

        A city's path head has ~200 classes of which a row needs the ~10 under its first level.
        The float32 products are summed by a sparse product with a ones matrix, which adds them in
        the same order as the full product does, so the values are bit-identical to it.
        """
        indptr = features.indptr
        lengths = (indptr[rows + 1] - indptr[rows]).astype(np.int64)
        bounds = np.concatenate([[0], np.cumsum(lengths)])
        pos = np.repeat(indptr[rows] - bounds[:-1], lengths) + np.arange(bounds[-1])
        products = features.data[pos][:, None] * self._coef_t[features.indices[pos], lo:hi]
        rows_of = sp.csr_matrix(
            (np.ones(len(pos), dtype=products.dtype), np.arange(len(pos)), bounds),
            shape=(len(rows), len(pos)),
        )
        return np.asarray(rows_of @ products + self.intercept_[self._order[lo:hi]], dtype=np.float64)

    def __getstate__(self) -> dict[str, Any]:
        """Weights are stored as float16: a city's path head has hundreds of classes × ~10⁵ features,
        and half precision changes probabilities by ~1e-3 while halving the bundle."""
        state = dict(self.__dict__)
        for name in ("_coef_t", "_order", "_position", "_identity"):
            state.pop(name, None)
        if "coef_" in state:
            state["coef_"] = state["coef_"].astype(np.float16)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if "coef_" in state:
            self.coef_ = self.coef_.astype(np.float32)
            self._set_weights()


@dataclass
class PathScore:
    path: list[str]
    probability: float


@dataclass
class HierarchyHead:
    """Category paths (level 1 › level 2 › …) consistent with the first-level suggestion.

    ``head`` is trained on path labels; paths of rare deeper classes were truncated to their parent
    at training time, so a path may be shorter than ``levels``. Only the paths under a row's first
    level are scored (:meth:`LinearHead.class_scores`): the others are masked out anyway.
    """

    featurizer: CategoryClassifier
    head: LinearHead
    levels: list[str]  # the label columns, first level first

    def __post_init__(self) -> None:
        self._index()

    def _index(self) -> None:
        self._split = [str(c).split(PATH_SEPARATOR) for c in self.head.classes_]
        firsts = sorted({p[0] for p in self._split})
        self._first_code = {f: i for i, f in enumerate(firsts)}  # integer codes: no object compares
        self._first_of = np.array([self._first_code[p[0]] for p in self._split], dtype=np.int64)
        order = np.argsort(self._first_of, kind="stable")  # the paths under one first level side by side
        self.head.group_columns(order)
        self._order = order
        self._ranges = np.searchsorted(self._first_of[order], np.arange(len(firsts) + 1)).tolist()

    def _grouped_scores(
        self, X: Sequence[Sequence[str]], first_levels: Sequence[str]
    ) -> tuple[NDArray[np.int64], list[tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]]]:
        """(first-level code per row, -1 if unknown; [(rows, path columns, scaled scores)] per group)."""
        codes = np.fromiter((self._first_code.get(f, -1) for f in first_levels), np.int64, len(first_levels))
        features = self.featurizer.features(X)
        order = np.argsort(codes, kind="stable")
        starts = np.flatnonzero(np.diff(codes[order], prepend=-2)).tolist() + [len(order)]
        groups = []
        for lo, hi in zip(starts[:-1], starts[1:], strict=True):
            rows = order[lo:hi]
            code = int(codes[rows[0]])
            if code < 0:
                continue
            lo, hi = self._ranges[code], self._ranges[code + 1]
            columns = self._order[lo:hi]
            scores = self.head.class_scores(features, rows, lo, hi) / self.head.temperature_
            groups.append((rows, columns, scores))
        return codes, groups

    def paths(
        self, X: Sequence[Sequence[str]], first_levels: Sequence[str], k: int = 3
    ) -> list[list[PathScore]]:
        """Top-``k`` paths under each document's first-level category, probabilities conditional on it."""
        codes, groups = self._grouped_scores(X, first_levels)
        allowed = self._first_of[None, :] == codes[:, None]
        # softmax over the paths under each row's first level only (others masked out)
        masked = np.full(allowed.shape, -np.inf)
        for rows, columns, scores in groups:
            masked[rows[:, None], columns] = scores
        top = masked.max(axis=1, keepdims=True)
        weights = np.where(allowed, np.exp(masked - np.where(np.isfinite(top), top, 0.0)), 0.0)
        proba = weights / np.maximum(weights.sum(axis=1, keepdims=True), 1e-300)
        order = np.argsort(-proba, axis=1)[:, :k]
        top_p = np.take_along_axis(proba, order, axis=1).tolist()
        out = []
        found = allowed.any(axis=1).tolist()
        for first, idx, values, ok in zip(first_levels, order.tolist(), top_p, found, strict=True):
            if not ok:
                out.append([PathScore([first], 1.0)])
                continue
            out.append([PathScore(self._split[j], p) for j, p in zip(idx, values, strict=True) if p > 0])
        return out

    def best_paths(self, X: Sequence[Sequence[str]], first_levels: Sequence[str]) -> list[list[str]]:
        """The most probable path of each document (``paths(..., k=1)``'s path, without probabilities)."""
        _, groups = self._grouped_scores(X, first_levels)
        out = [[first] for first in first_levels]
        for rows, columns, scores in groups:
            best = columns[np.argmax(scores, axis=1)].tolist()
            for i, j in zip(rows.tolist(), best, strict=True):
                out[i] = list(self._split[j])
        return out

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        for name in ("_split", "_first_of", "_first_code", "_order", "_ranges"):
            state.pop(name, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._index()


@dataclass
class RequestTypeHead:
    """Request type (诉求类型); a confident urgent type raises the case's priority."""

    featurizer: CategoryClassifier
    head: LinearHead
    urgent_labels: frozenset[str]  # e.g. {"紧急类"}: labels whose prediction means "urgent"
    urgent_threshold: float = 0.5

    @property
    def classes_(self) -> np.ndarray:
        return self.head.classes_

    def predict_proba(self, X: Sequence[Sequence[str]]) -> np.ndarray:
        return self.head.predict_proba(self.featurizer.features(X))

    def is_urgent(self, label: str, probability: float) -> bool:
        return label in self.urgent_labels and probability >= self.urgent_threshold


def path_label(levels: Sequence[str]) -> str:
    """The path label of a row's non-empty leading levels (``a › b › c``)."""
    out = []
    for value in levels:
        if not value:
            break
        out.append(value)
    return PATH_SEPARATOR.join(out)


def merge_rare_paths(paths: Sequence[str], min_count: int) -> tuple[list[str], dict[str, str]]:
    """Truncate every path seen fewer than ``min_count`` times to its nearest frequent ancestor.

    Returns the merged labels and ``{original path: merged path}`` for the model card. Counts are of
    the path and everything below it, so a parent collects its rare children before it is judged.
    """
    from collections import Counter

    counts: Counter[str] = Counter()
    for p in paths:
        parts = p.split(PATH_SEPARATOR)
        for n in range(1, len(parts) + 1):
            counts[PATH_SEPARATOR.join(parts[:n])] += 1
    merged: dict[str, str] = {}
    out = []
    for p in paths:
        parts = p.split(PATH_SEPARATOR)
        n = len(parts)
        while n > 1 and counts[PATH_SEPARATOR.join(parts[:n])] < min_count:
            n -= 1
        target = PATH_SEPARATOR.join(parts[:n])
        if target != p:
            merged[p] = target
        out.append(target)
    return out, merged
