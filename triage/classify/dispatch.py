"""Auto-dispatch: the confidence threshold above which a department suggestion may skip review.

The threshold is chosen once per bundle on validation data (held-out rows the model did not train
on) and stored in the bundle's metadata as ``metadata["auto_dispatch"]``; serving only compares a
confidence with it. The guarantee is empirical: on validation data, suggestions at or above the
threshold were right at least ``target_precision`` of the time, and ``coverage`` is the share of
validation rows they made up.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

DEFAULT_TARGET_PRECISION = 0.95
METADATA_KEY = "auto_dispatch"

Confidences = Sequence[float] | NDArray[np.floating[Any]]  # one model confidence per row
Outcomes = Sequence[bool] | NDArray[np.bool_]  # per row: was the suggestion right


def never_threshold(confidences: Confidences = ()) -> float:
    """A threshold no confidence reaches (the smallest float above 1.0 and above every confidence)."""
    top = max(1.0, float(np.max(confidences))) if len(confidences) else 1.0
    return math.nextafter(top, math.inf)


@dataclass(frozen=True, slots=True)
class ThresholdChoice:
    """The chosen threshold and what it achieved on the data it was chosen on.

    ``coverage`` is 0 (and ``threshold`` above every confidence) when no threshold reaches the target;
    ``precision`` is then 0.0 rather than undefined, so the record stays JSON-safe.
    """

    threshold: float
    coverage: float
    precision: float
    n: int
    target_precision: float = DEFAULT_TARGET_PRECISION

    @property
    def feasible(self) -> bool:
        return self.coverage > 0.0

    def allows(self, confidence: float) -> bool:
        """True when a suggestion with this confidence may be dispatched without review."""
        return self.feasible and confidence >= self.threshold

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ThresholdChoice:
        """Read ``metadata["auto_dispatch"]``; a missing or malformed record raises ``ValueError``."""
        try:
            choice = cls(
                threshold=float(data["threshold"]),
                coverage=float(data["coverage"]),
                precision=float(data["precision"]),
                n=int(data["n"]),
                target_precision=float(data.get("target_precision", DEFAULT_TARGET_PRECISION)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"auto_dispatch metadata is incomplete or not numeric: {exc}") from exc
        if not 0.0 <= choice.coverage <= 1.0 or not 0.0 <= choice.precision <= 1.0 or choice.n < 0:
            raise ValueError(f"auto_dispatch metadata out of range: {dict(data)}")
        return choice

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any] | None) -> ThresholdChoice | None:
        """The bundle's stored choice, or None when the bundle has none (older bundles)."""
        record = (metadata or {}).get(METADATA_KEY)
        return cls.from_dict(record) if record else None


def threshold_at_precision(
    confidences: Confidences,
    correct: Outcomes,
    target_precision: float = DEFAULT_TARGET_PRECISION,
    *,
    min_support: int = 1,
) -> ThresholdChoice:
    """The lowest threshold whose kept set (confidence ≥ threshold) has precision ≥ the target.

    Rows are sorted by confidence, high to low, and precision is accumulated over the kept set.
    Candidate thresholds are only the ends of tie groups: a threshold keeps every row with that
    confidence or none of them, so equal confidences can never be split. The lowest candidate whose
    cumulative precision meets the target wins (largest coverage with the guarantee), even if a
    smaller kept set higher up dipped below it. ``min_support`` asks for at least that many kept
    rows, so a threshold is never justified by a handful of lucky top rows.
    """
    if not 0.0 < target_precision <= 1.0:
        raise ValueError(f"target_precision must be in (0, 1], got {target_precision}")
    conf = np.asarray(confidences, dtype=float).ravel()
    ok = np.asarray(correct, dtype=bool).ravel()
    if conf.shape != ok.shape:
        raise ValueError(f"confidences ({conf.size}) and correct ({ok.size}) differ in length")
    if conf.size and not np.isfinite(conf).all():
        raise ValueError("confidences must be finite numbers")
    n = int(conf.size)
    none = ThresholdChoice(never_threshold(conf), 0.0, 0.0, n, target_precision)
    if n == 0:
        return none
    order = np.argsort(-conf, kind="stable")
    conf, ok = conf[order], ok[order]
    hits = np.cumsum(ok)
    kept = np.arange(1, n + 1)
    group_end = np.ones(n, dtype=bool)  # last row of each run of equal confidences
    group_end[:-1] = conf[:-1] != conf[1:]
    precision = hits / kept
    # a tiny tolerance so 19/20 counts as 0.95 despite floating point
    feasible = group_end & (precision >= target_precision - 1e-12) & (kept >= min_support)
    if not feasible.any():
        return none
    last = int(np.flatnonzero(feasible)[-1])
    return ThresholdChoice(
        threshold=float(conf[last]),
        coverage=(last + 1) / n,
        precision=float(precision[last]),
        n=n,
        target_precision=target_precision,
    )


def coverage_at_precision(
    confidences: Confidences,
    correct: Outcomes,
    target_precision: float = DEFAULT_TARGET_PRECISION,
) -> float:
    """Share of rows a threshold chosen on these same rows keeps (the ``coverage_at_precision_95`` figure)."""
    return threshold_at_precision(confidences, correct, target_precision).coverage


def apply_threshold(
    choice: ThresholdChoice, confidences: Confidences, correct: Outcomes
) -> tuple[float, float]:
    """(coverage, precision) of a threshold chosen elsewhere on new rows: how it holds up on later data."""
    conf = np.asarray(confidences, dtype=float).ravel()
    ok = np.asarray(correct, dtype=bool).ravel()
    if conf.shape != ok.shape:
        raise ValueError(f"confidences ({conf.size}) and correct ({ok.size}) differ in length")
    if not conf.size:
        return 0.0, 0.0
    kept = conf >= choice.threshold if choice.feasible else np.zeros(conf.size, dtype=bool)
    return float(kept.mean()), float(ok[kept].mean()) if kept.any() else 0.0


DEPARTMENT_SOURCES = frozenset({"department_model", "department", "jurisdiction"})


def department_confidence(result: Any) -> float | None:
    """The probability behind a result's department suggestion, or None when no model gave one.

    Prefers an explicit ``department_confidence`` on the result; otherwise the route reason's
    ``probability`` when the department came from a department model (a keyword rule or the
    category's fixed department carries no calibrated department probability).
    """
    value = getattr(result, "department_confidence", None)
    if value is not None:
        return float(value)
    reason = getattr(result, "route_reason", None) or {}
    if reason.get("source") in DEPARTMENT_SOURCES and reason.get("probability") is not None:
        return float(reason["probability"])
    return None
