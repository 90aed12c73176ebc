"""The plain reference the learned heads are judged against: word + char TF-IDF and a LinearSVC.

Deliberately untuned (scikit-learn defaults, ``sublinear_tf``), trained and scored on exactly the
split the heads use, so the model card's comparison is like for like.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC


def _identity(tokens: list[str]) -> list[str]:
    return tokens


class PlainBaseline:
    """Word (1–2)-gram + char (1–3)-gram TF-IDF, LinearSVC; top-k from decision values."""

    def fit(self, tokens: Sequence[list[str]], texts: Sequence[str], y: Sequence[str]) -> PlainBaseline:
        self.words_ = TfidfVectorizer(analyzer=_identity, sublinear_tf=True)
        self.chars_ = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=2)
        bigrams = [t + [a + b for a, b in zip(t, t[1:], strict=False)] for t in tokens]
        x = sp.hstack([self.words_.fit_transform(bigrams), self.chars_.fit_transform(texts)]).tocsr()
        self.svm_ = LinearSVC().fit(x, list(y))
        return self

    def decision_function(self, tokens: Sequence[list[str]], texts: Sequence[str]) -> np.ndarray:
        bigrams = [t + [a + b for a, b in zip(t, t[1:], strict=False)] for t in tokens]
        x = sp.hstack([self.words_.transform(bigrams), self.chars_.transform(texts)]).tocsr()
        return self.svm_.decision_function(x)

    def top_k(self, tokens: Sequence[list[str]], texts: Sequence[str], k: int = 3) -> list[list[str]]:
        scores = self.decision_function(tokens, texts)
        if scores.ndim == 1:
            scores = np.column_stack([-scores, scores])
        order = np.argsort(-scores, axis=1)[:, :k]
        return [[str(self.svm_.classes_[j]) for j in row] for row in order]


def baseline_figures(opts, data, tokens, train: list[int], test: list[int]) -> dict:
    """First-level category and department figures of the plain baseline on the heads' split."""
    from training.evaluate import compute_metrics
    from training.heads_eval import ranking_figures
    from triage.classify.dispatch import threshold_at_precision

    first = data.column(0)
    out: dict = {}
    tr = [i for i in train if first[i]]
    te = [i for i in test if first[i]]
    if len({first[i] for i in tr}) >= 2 and te:
        model = PlainBaseline().fit(
            [tokens[i] for i in tr], [data.texts[i] for i in tr], [first[i] for i in tr]
        )
        pred = [row[0] for row in model.top_k([tokens[i] for i in te], [data.texts[i] for i in te], 1)]
        m = compute_metrics([first[i] for i in te], pred, sorted({first[i] for i in tr}))
        out["category"] = {"n": m["n"], "accuracy": m["accuracy"], "macro_f1": m["macro_f1"]}
    if opts.department_col:
        nad = set(opts.not_a_department)
        tr = [i for i in train if data.departments[i] and data.departments[i] not in nad]
        te = [i for i in test if data.departments[i] and data.departments[i] not in nad]
        if len({data.departments[i] for i in tr}) >= 2 and te:
            model = PlainBaseline().fit(
                [tokens[i] for i in tr], [data.texts[i] for i in tr], [data.departments[i] for i in tr]
            )
            scores = model.decision_function([tokens[i] for i in te], [data.texts[i] for i in te])
            from scipy.special import softmax

            proba = softmax(scores, axis=1)
            figures = ranking_figures(proba, model.svm_.classes_, [data.departments[i] for i in te])
            best = proba.argmax(axis=1)
            correct = model.svm_.classes_[best] == np.asarray([data.departments[i] for i in te])
            # an uncalibrated SVM: the ranking of its top scores is what the threshold search uses
            figures["coverage_at_precision_95"] = round(
                threshold_at_precision(scores.max(axis=1), correct, 0.95).coverage, 4
            )
            out["department"] = figures
    return out
