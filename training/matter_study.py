"""Capacity study of the same-matter scorer: which trees, chosen how (models/matter/card.md).

    python -m training.matter_study [--data ../shared/data] [--seed 5]

The pairs and features of :mod:`training.matter_pairs`; for each configuration, the threshold is
the lowest reaching the target precision on the fitting half's out-of-fold scores — folds drawn
at random (stratified) or by subject (as the halves are) — and the test half's pair-level
precision and recall at it are printed beside. Choosing by the test columns would fit the test
half; the study is there to show how far each out-of-fold estimate can be trusted.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from training.matter_pairs import DEFAULT_DATA, TARGET_PRECISION, _threshold, featurize, fit_model

CONFIGS = {  # name: (max_depth, n_estimators, min_samples_leaf)
    "depth 2 x 200 (shipped)": (2, 200, 1),
    "depth 3 x 200": (3, 200, 1),
    "depth 3 x 300": (3, 300, 1),
    "depth 4 x 200": (4, 200, 1),
    "depth 3 x 200, >= 20 per leaf": (3, 200, 20),
}


def _model(depth: int, trees: int, leaf: int):
    from sklearn.ensemble import GradientBoostingClassifier

    return GradientBoostingClassifier(
        max_depth=depth, n_estimators=trees, learning_rate=0.05, subsample=0.8,
        min_samples_leaf=leaf, random_state=0,
    )  # fmt: skip


def _pr(scores: np.ndarray, y: np.ndarray, threshold: float) -> tuple[float, float]:
    pred = scores >= threshold
    tp = int((pred & (y == 1)).sum())
    return tp / max(int(pred.sum()), 1), tp / max(int((y == 1).sum()), 1)


def study(data: Path, seed: int) -> list[dict]:
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    ps = featurize(data, seed)
    fit, real = ps.fold == 0, np.array(ps.kinds) != "copy"
    X, y, groups = ps.X[fit], ps.y[fit], np.array(ps.subjects)[fit]
    test_X, test_y = ps.X[~fit & real], ps.y[~fit & real]
    splits = {
        "stratified": list(StratifiedKFold(5, shuffle=True, random_state=0).split(X, y)),
        "by_subject": list(StratifiedGroupKFold(5, shuffle=True, random_state=0).split(X, y, groups)),
    }
    out = []
    for name, params in CONFIGS.items():
        row: dict = {"config": name}
        test_scores = fit_model(X, y, _model(*params)).predict_proba(test_X)[:, 1]
        for split, folds in splits.items():
            oof = np.zeros(len(y))
            for train, held in folds:
                oof[held] = fit_model(X[train], y[train], _model(*params)).predict_proba(X[held])[:, 1]
            t = _threshold(oof[real[fit]], y[real[fit]], TARGET_PRECISION)
            row[split] = {
                "threshold": t,
                "oof": _pr(oof[real[fit]], y[real[fit]], t),
                "test": _pr(test_scores, test_y, t),
            }
        out.append(row)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--seed", type=int, default=5)
    args = ap.parse_args(argv)
    print("| trees | split | threshold | out-of-fold P / R | test P / R |")
    print("| --- | --- | --- | --- | --- |")
    for row in study(args.data, args.seed):
        for split in ("stratified", "by_subject"):
            r = row[split]
            (op, orc), (tp, tr) = r["oof"], r["test"]
            cells = [
                row["config"],
                split,
                f"{r['threshold']:.2f}",
                f"{op:.3f} / {orc:.3f}",
                f"{tp:.3f} / {tr:.3f}",
            ]
            print("| " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
