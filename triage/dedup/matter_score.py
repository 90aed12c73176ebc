"""The "same matter" scorer: a small logistic model over pair features, and the reason it gives.

Features of a (new message, indexed case) pair, all computed by :class:`triage.dedup.matter.MatterIndex`:

* ``word``   — cosine of the two tf-idf vectors over jieba content tokens (each case keeps its top terms)
* ``place``  — 1 if both name the same fine place (road, estate, building …), else 0
* ``place_len`` — characters of that place / 8, capped at 1 (南门广场 is more specific than 北门)
* ``area``   — 1 if they share only a district or town
* ``problem`` — idf-weighted share of the query's non-place key terms the case also has
* ``category`` — 1 same category, 0 different, 0.5 when either is unknown
* ``days``   — log(1 + |days between them|)
* ``copy``   — max(0, word − 0.8) · 5: lets near-copies pass whatever their place or category
* ``lead``   — idf-weighted cosine of the two title / first-line word sets (what each is about)
* ``place_lead`` — place × lead: the same place *and* the same subject
* ``place_conflict`` — 1 if both name fine places and share none (东风路 vs 实验小学), else 0: without
  it "no shared place" cannot tell two other places from two texts that name none

The shipped scorer is scikit-learn's ``GradientBoostingClassifier`` (depth-2 trees: pairs of features
interact — the same place matters only with the same problem), fitted on the labelled pairs built by
``python -m training.matter_pairs`` and shipped as ``models/matter/scorer.json`` (threshold, figures,
versions) beside ``scorer.joblib`` (the trees); see the card next to them. A scorer without a model
file is a logistic one (``coef``, ``intercept`` in the JSON): the hand-set fallback and older files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from numpy.typing import ArrayLike, NDArray

from triage.profiles import shipped_models_dir

FEATURES = (
    "word", "place", "place_len", "area", "problem", "category", "days", "copy", "lead", "place_lead",
    "place_conflict",
)  # fmt: skip
SCORER_FILE = "matter/scorer.json"  # inside the shipped models directory (triage/profiles.py)


def default_scorer_path() -> Path:
    return shipped_models_dir() / SCORER_FILE


def copy_feature(word: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.maximum(0.0, word - 0.8) * 5.0


@dataclass(slots=True)
class MatterScorer:
    """p(same matter | features): a fitted classifier's ``predict_proba``, or a logistic
    sigmoid(features · coef + intercept) when there is none."""

    coef: NDArray[np.float64]
    intercept: float
    version: str = "unfitted"
    threshold: float = 0.6  # the default threshold fitted with the weights (see the card)
    model: Any = None  # a fitted scikit-learn classifier over FEATURES (predict_proba)

    @classmethod
    def load(cls, path: str | Path | None = None) -> MatterScorer:
        path = Path(path) if path else default_scorer_path()
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if list(data["features"]) != list(FEATURES):
            raise ValueError(f"{path}: features {data['features']} do not match {list(FEATURES)}")
        model = joblib.load(path.parent / data["model_file"]) if data.get("model_file") else None
        coef = np.asarray(data.get("coef") or np.zeros(len(FEATURES)), dtype=np.float64)
        threshold = float(data.get("threshold", 0.6))
        return cls(coef, float(data.get("intercept", 0.0)), str(data["version"]), threshold, model)

    @classmethod
    def default(cls) -> MatterScorer:
        """The shipped scorer, or hand-set weights when it is missing (a fresh checkout before fitting)."""
        if default_scorer_path().exists():
            return cls.load(default_scorer_path())
        return cls.hand_set()

    @classmethod
    def hand_set(cls) -> MatterScorer:
        """Weights set by hand: for refitting (the shipped file may predate a change of FEATURES)."""
        return cls(np.array([6.0, 2.0, 1.0, 0.3, 3.0, 1.0, -0.8, 3.0, 3.0, 2.0, -2.0]), -5.0, "hand-set")

    def save(self, path: str | Path, **card: object) -> None:
        """The JSON (threshold, version, ``card``) and, for a fitted model, ``<stem>.joblib`` beside it."""
        path = Path(path)
        data: dict[str, object] = {"features": list(FEATURES), "version": self.version}
        if self.model is not None:
            model_file = path.with_suffix(".joblib")
            joblib.dump(self.model, model_file, compress=3)
            data["model_file"] = model_file.name
        else:
            data["coef"] = [round(float(c), 6) for c in self.coef]
            data["intercept"] = round(float(self.intercept), 6)
        data = {**data, "threshold": round(float(self.threshold), 4), **card}
        path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")

    def predict(self, features: ArrayLike) -> NDArray[np.float64]:
        x = np.asarray(features, dtype=np.float64)
        if self.model is not None:
            if len(x) == 0:
                return np.zeros(0)
            return np.asarray(self.model.predict_proba(x.reshape(-1, len(FEATURES)))[:, 1], dtype=np.float64)
        z = x @ self.coef + self.intercept
        probability: NDArray[np.float64] = 1.0 / (1.0 + np.exp(-z))
        return probability


def days_phrase(days: float) -> str:
    if days != days:  # NaN: undated
        return ""
    d = int(round(abs(days)))
    if d == 0:
        return "当天"
    return f"{d} 天前" if days >= 0 else f"{d} 天后"


def reason_text(
    *,
    place: str | None,
    area: str | None,
    terms: list[str],
    category: str | None,
    word: float,
    days: float,
) -> str:
    """Why a case is offered as the same matter, in the reviewer's words."""
    parts = []
    if place:
        parts.append(f"同一地点：{place}")
    elif area:
        parts.append(f"同一区域：{area}")
    if terms:
        parts.append("同类问题：" + "、".join(terms))
    elif category:
        parts.append(f"同类问题：{category}")
    if word >= 0.8:
        parts.append(f"内容高度相似（{word:.0%}）")
    elif word >= 0.3 and not parts:
        parts.append(f"用词相近（{word:.0%}）")
    when = days_phrase(days)
    if when:
        parts.append(when)
    return "；".join(parts)
