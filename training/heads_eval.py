"""Held-out figures of the heads: category path per level, ranking heads, and the department."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from training.datasets import Export
from triage.classify.classifier import CategoryClassifier
from triage.classify.department import DepartmentModel
from triage.classify.heads import HierarchyHead


def ranking_figures(
    proba: np.ndarray, classes: Sequence | np.ndarray, gold: Sequence[str], k: int = 3
) -> dict:
    """Top-1 and top-``k`` accuracy of a probability matrix against gold labels."""
    if not len(gold):
        return {"n": 0, "accuracy": 0.0, f"top{k}": 0.0}
    order = np.argsort(-proba, axis=1)[:, :k]
    names = np.asarray([str(c) for c in classes])
    top = names[order]
    gold_arr = np.asarray(gold)
    return {
        "n": len(gold),
        "accuracy": round(float(np.mean(top[:, 0] == gold_arr)), 4),
        f"top{k}": round(float(np.mean((top == gold_arr[:, None]).any(axis=1))), 4),
    }


def hierarchy_figures(
    category: CategoryClassifier, hierarchy: HierarchyHead, data: Export, tokens, rows: list[int]
) -> dict:
    """Per-level accuracy of the consistent path under the predicted first level, and consistency."""
    docs = [tokens[i] for i in rows]
    first = [str(c) for c in category.predict(docs)] if docs else []
    paths = hierarchy.paths(docs, first, k=1) if docs else []
    levels = len(hierarchy.levels)
    correct = np.zeros(levels)
    scored = np.zeros(levels)
    consistent = 0
    for i, pred, f in zip(rows, paths, first, strict=True):
        path = pred[0].path
        consistent += path[0] == f
        for level in range(levels):
            gold = data.labels[i][level]
            if gold:
                scored[level] += 1
                # a truncated path counts as wrong below the depth it reaches
                correct[level] += (
                    level < len(path)
                    and path[level] == gold
                    and all(path[j] == data.labels[i][j] for j in range(level))
                )
    return {
        "n": len(rows),
        "levels": hierarchy.levels,
        "level_accuracy": [
            round(float(c / s), 4) if s else None for c, s in zip(correct, scored, strict=True)
        ],
        "consistent_share": round(consistent / len(rows), 4) if rows else None,
    }


def department_figures(
    model, data_fields: Sequence | Export, tokens, rows: list[int], *, skipped: int, texts=None, gold=None
) -> tuple[dict, np.ndarray, np.ndarray]:
    """(figures, top-1 confidences, top-1 correct) of a department model on ``rows``.

    ``model`` is a :class:`DepartmentModel` (jurisdiction from the rows' fields and text) or a plain
    classifier of older bundles. Gold units the model never saw count as misses.
    """
    fields: list[dict[str, str]] | None
    if isinstance(data_fields, Export):
        texts = [data_fields.texts[i] for i in rows]
        fields = [data_fields.fields[i] for i in rows]
        gold = [data_fields.departments[i] for i in rows]
    else:
        fields = [data_fields[i] for i in rows] if data_fields else None
    docs = [tokens[i] for i in rows]
    if not docs:
        return {"n": 0, "skipped": skipped, "accuracy": 0.0, "top3": 0.0}, np.zeros(0), np.zeros(0, bool)
    if isinstance(model, DepartmentModel):
        proba = model.predict_proba(docs, fields, texts)
    else:
        proba = model.predict_proba(docs)
    figures = ranking_figures(proba, model.classes_, gold)
    best = np.argmax(proba, axis=1)
    confidences = proba[np.arange(len(docs)), best]
    correct = np.asarray([str(model.classes_[b]) for b in best]) == np.asarray(gold)
    known = set(map(str, model.classes_))
    figures |= {"skipped": skipped, "unseen_units": sum(g not in known for g in gold)}
    return figures, confidences, correct
