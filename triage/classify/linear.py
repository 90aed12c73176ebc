"""Training of the linear heads: a LinearSVC and a softmax temperature from cross-validated scores.

Shared by the category classifier and the heads that reuse its features (:mod:`triage.classify.heads`).
sklearn's model selection and SVM are imported inside the functions: serving never trains.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray
from scipy.special import log_softmax

__all__ = ["ClassWeight", "fit_linear", "fit_temperature"]

# sklearn's class_weight: "balanced", label → weight, or None (all classes weigh 1)
ClassWeight = str | dict[str, float] | None


def fit_temperature(scores: NDArray[np.floating[Any]], y: NDArray[np.integer[Any]]) -> float:
    """Temperature minimising the NLL of ``softmax(scores / T)`` (cross-validated decision values)."""
    from scipy.optimize import minimize_scalar

    def nll(log_t: float) -> float:
        return -float(np.mean(log_softmax(scores / np.exp(log_t), axis=1)[np.arange(len(y)), y]))

    return float(np.exp(minimize_scalar(nll, bounds=(-6.0, 4.0), method="bounded").x))


def fit_linear(
    features: sp.csr_matrix,
    y: ArrayLike,
    *,
    C: float = 1.0,
    class_weight: ClassWeight = "balanced",
    calibration_cv: int = 3,
    tol: float = 1e-3,
    random_state: int = 0,
) -> tuple[NDArray[Any], NDArray[np.float32], NDArray[np.float64], float]:
    """(classes, coef float32, intercept, temperature) of a LinearSVC over ``features``.

    The temperature comes from ``calibration_cv``-fold decision values (1.0 when fewer than two folds
    fit); two classes become two symmetric rows so softmax works for every head alike.
    """
    from sklearn.model_selection import StratifiedKFold, cross_val_predict  # training-only imports
    from sklearn.svm import LinearSVC

    labels = np.asarray(y)
    counts = np.unique(labels, return_counts=True)[1]
    svm = LinearSVC(C=C, class_weight=class_weight, tol=tol, random_state=random_state)
    n_splits = int(min(calibration_cv, counts.min()))
    held_out: NDArray[np.float64] | None = None
    if n_splits >= 2:
        cv = StratifiedKFold(n_splits, shuffle=True, random_state=0)
        held_out = cross_val_predict(svm, features, labels, cv=cv, method="decision_function")
    svm.fit(features, labels)
    classes: NDArray[Any] = svm.classes_
    coef: NDArray[np.float64] = svm.coef_
    intercept: NDArray[np.float64] = svm.intercept_
    if len(classes) == 2:  # one weight vector → two symmetric rows, softmax == sigmoid
        coef, intercept = np.vstack([-coef / 2, coef / 2]), np.array([-intercept[0], intercept[0]]) / 2
        held_out = None if held_out is None else np.column_stack([-held_out / 2, held_out / 2])
    temperature = 1.0 if held_out is None else fit_temperature(held_out, np.searchsorted(classes, labels))
    return classes, coef.astype(np.float32), intercept, temperature
