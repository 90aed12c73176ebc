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

import numpy as np
import scipy.sparse as sp
from scipy.special import softmax

from triage.classify.classifier import CategoryClassifier, fit_linear

PATH_SEPARATOR = " › "


class LinearHead:
    """One linear SVM over shared features; ``predict_proba`` is calibrated by a temperature."""

    def __init__(
        self, *, C: float = 1.0, class_weight: str | dict | None = "balanced", calibration_cv: int = 3
    ) -> None:
        self.C = C
        self.class_weight = class_weight
        self.calibration_cv = calibration_cv

    def fit(self, features: sp.csr_matrix, y: Sequence[str]) -> LinearHead:
        y = np.asarray(y)
        classes, counts = np.unique(y, return_counts=True)
        if len(classes) < 2 or counts.min() < 2:
            raise ValueError("need at least two classes with two or more examples each")
        self.classes_, self.coef_, self.intercept_, self.temperature_ = fit_linear(
            features, y, C=self.C, class_weight=self.class_weight, calibration_cv=self.calibration_cv
        )
        self._coef_t = np.ascontiguousarray(self.coef_.T)
        return self

    def decision_function(self, features: sp.csr_matrix) -> np.ndarray:
        return features @ self._coef_t + self.intercept_

    def predict_proba(self, features: sp.csr_matrix) -> np.ndarray:
        return softmax(self.decision_function(features) / self.temperature_, axis=1)

    def __getstate__(self) -> dict:
        """Weights are stored as float16: a city's path head has hundreds of classes × ~10⁵ features,
        and half precision changes probabilities by ~1e-3 while halving the bundle."""
        state = dict(self.__dict__)
        state.pop("_coef_t", None)
        if "coef_" in state:
            state["coef_"] = state["coef_"].astype(np.float16)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        if "coef_" in state:
            self.coef_ = self.coef_.astype(np.float32)
            self._coef_t = np.ascontiguousarray(self.coef_.T)


@dataclass
class PathScore:
    path: list[str]
    probability: float


@dataclass
class HierarchyHead:
    """Category paths (level 1 › level 2 › …) consistent with the first-level suggestion.

    ``head`` is trained on path labels; paths of rare deeper classes were truncated to their parent
    at training time, so a path may be shorter than ``levels``.
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

    def paths(
        self, X: Sequence[Sequence[str]], first_levels: Sequence[str], k: int = 3
    ) -> list[list[PathScore]]:
        """Top-``k`` paths under each document's first-level category, probabilities conditional on it."""
        scores = self.head.decision_function(self.featurizer.features(X)) / self.head.temperature_
        codes = np.fromiter((self._first_code.get(f, -1) for f in first_levels), np.int64, len(first_levels))
        allowed = self._first_of[None, :] == codes[:, None]
        # softmax over the paths under each row's first level only (others masked out)
        masked = np.where(allowed, scores, -np.inf)
        top = masked.max(axis=1, keepdims=True)
        weights = np.where(allowed, np.exp(masked - np.where(np.isfinite(top), top, 0.0)), 0.0)
        proba = weights / np.maximum(weights.sum(axis=1, keepdims=True), 1e-300)
        order = np.argsort(-proba, axis=1)[:, :k]
        top = np.take_along_axis(proba, order, axis=1).tolist()
        out = []
        found = allowed.any(axis=1).tolist()
        for first, idx, values, ok in zip(first_levels, order.tolist(), top, found, strict=True):
            if not ok:
                out.append([PathScore([first], 1.0)])
                continue
            out.append([PathScore(self._split[j], p) for j, p in zip(idx, values, strict=True) if p > 0])
        return out

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        for name in ("_split", "_first_of", "_first_code"):
            state.pop(name, None)
        return state

    def __setstate__(self, state: dict) -> None:
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
