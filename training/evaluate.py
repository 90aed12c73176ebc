"""Classification metrics and the evaluation of a saved bundle on a labelled file."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from training.datasets import LabelledData, load_export, load_labelled
from training.heads_eval import department_figures
from triage.classify.bundle import load_bundle
from triage.classify.classifier import CategoryClassifier
from triage.classify.dispatch import ThresholdChoice, apply_threshold, coverage_at_precision
from triage.tabular.files import TabularReader
from triage.text.intake import normalize_text
from triage.text.tokenizer import tokenize


def prepare_tokens(texts: Sequence[str]) -> list[list[str]]:
    """The serving path's text handling (normalise, then tokenize) applied to training rows."""
    return [tokenize(normalize_text(t)) for t in texts]


def compute_metrics(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str]) -> dict:
    """Accuracy, macro-F1, per-class precision/recall/F1/support and the confusion matrix.

    ``labels`` fixes the class order (the model's classes plus any unseen gold labels).
    """
    labels = list(labels) + sorted(set(y_true) - set(labels))
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    present = [i for i, n in enumerate(s) if n > 0]  # macro over classes that occur in the data
    return {
        "n": len(y_true),
        "accuracy": round(float(accuracy_score(y_true, y_pred)), 4),
        "macro_f1": round(
            float(f1_score(y_true, y_pred, labels=[labels[i] for i in present], average="macro")), 4
        ),
        "macro_f1_ci95": macro_f1_interval(y_true, y_pred, labels),
        "per_class": {
            lab: {
                "precision": round(float(p[i]), 4),
                "recall": round(float(r[i]), 4),
                "f1": round(float(f[i]), 4),
                "support": int(s[i]),
            }
            for i, lab in enumerate(labels)
        },
        "labels": labels,
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }


def macro_f1_interval(
    y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str], resamples: int = 1000, seed: int = 0
) -> list[float] | None:
    """95 % bootstrap interval of macro-F1 (messages resampled with replacement).

    A few hundred evaluation messages leave macro-F1 uncertain by several points; the interval
    says how much a difference between two models can mean. Vectorised: each resample is a
    weighted confusion matrix, so it stays cheap for large files.
    """
    n, k = len(y_true), len(labels)
    if n < 2:
        return None
    index = {label: i for i, label in enumerate(labels)}
    cells = np.array([index[t] * k + index[p] for t, p in zip(y_true, y_pred, strict=True)])
    weights = np.random.default_rng(seed).multinomial(n, np.full(n, 1 / n), size=resamples)
    confusion = np.stack([np.bincount(cells, w, minlength=k * k) for w in weights]).reshape(-1, k, k)
    tp = np.diagonal(confusion, axis1=1, axis2=2)
    support, predicted = confusion.sum(axis=2), confusion.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(support + predicted > 0, 2 * tp / (support + predicted), 0.0)
    present = support > 0  # macro over the classes present in each resample, as sklearn does
    macro = (f1 * present).sum(axis=1) / present.sum(axis=1)
    low, high = np.percentile(macro, [2.5, 97.5])
    return [round(float(low), 4), round(float(high), 4)]


def score_model(model: CategoryClassifier, tokens: list[list[str]], labels: Sequence[str]) -> dict:
    predicted = model.predict(tokens) if tokens else np.array([])
    return compute_metrics(list(labels), [str(x) for x in predicted], [str(c) for c in model.classes_])


def evaluate_file(
    model_path: str | Path,
    data_path: str | Path,
    text_columns: Sequence[str],
    label_column: str,
    *,
    department_column: str | None = None,
    not_a_department: Sequence[str] = (),
) -> dict:
    """Metrics of a saved bundle on a labelled file (the department model too when asked).

    Department figures leave out rows whose department is empty or not a department (the labels
    given here plus those stored with the model) and report them as ``skipped``; a bundle whose
    department model uses jurisdiction reads the columns it was trained with when the file has them.
    """
    bundle = load_bundle(model_path)
    if not department_column:
        data: LabelledData = load_labelled(data_path, text_columns, label_column)
        start = time.perf_counter()
        tokens = prepare_tokens(data.texts)
        result = score_model(bundle.category, tokens, data.labels)
        result["model_version"] = bundle.model_version
        result["data"] = data.description()
        result["seconds"] = round(time.perf_counter() - start, 2)
        result["skipped"] = data.skip_report()
        return result
    with TabularReader(data_path) as reader:
        columns = reader.columns
    wanted = [c for c in bundle.metadata.get("field_columns", []) if c in columns]
    export = load_export(
        data_path, text_columns, [label_column], department_column=department_column, field_columns=wanted
    )
    start = time.perf_counter()
    tokens = prepare_tokens(export.texts)
    labelled = [i for i, v in enumerate(export.column(0)) if v]
    result = score_model(
        bundle.category, [tokens[i] for i in labelled], [export.labels[i][0] for i in labelled]
    )
    result["model_version"] = bundle.model_version
    result["data"] = export.description()
    nad = set(not_a_department) | set(bundle.metadata.get("not_a_department", []))
    rows = [i for i, d in enumerate(export.departments) if d and d not in nad]
    if bundle.department is None:
        result["department"] = None
    else:
        figures, confidences, correct = department_figures(
            bundle.department, export, tokens, rows, skipped=len(export) - len(rows)
        )
        figures["coverage_at_precision_95"] = round(coverage_at_precision(confidences, correct, 0.95), 4)
        stored = ThresholdChoice.from_metadata(bundle.metadata)
        if stored is not None:
            coverage, precision = apply_threshold(stored, confidences, correct)
            figures["auto_dispatch"] = {
                "threshold": round(stored.threshold, 4),
                "coverage": round(coverage, 4),
                "precision": round(precision, 4),
            }
        result["department"] = figures
    result["seconds"] = round(time.perf_counter() - start, 2)
    empty = len(export) - len(labelled)
    result["skipped"] = export.skip_report() + (
        [f"{empty} rows skipped: empty label (category figures)"] if empty else []
    )
    return result


def format_metrics(metrics: dict, title: str = "") -> str:
    """Plain-text table: accuracy, macro-F1 and one line per class."""
    width = max([len(str(k)) for k in metrics["per_class"]] + [5])
    lines = [title] if title else []
    ci = metrics.get("macro_f1_ci95")
    interval = f" (95% CI {ci[0]:.4f}–{ci[1]:.4f})" if ci else ""
    lines.append(
        f"n={metrics['n']}  accuracy={metrics['accuracy']:.4f}  macro_f1={metrics['macro_f1']:.4f}{interval}"
    )
    lines.append(f"  {'class':<{width}}  precision  recall      f1  support")
    for label, m in metrics["per_class"].items():
        lines.append(
            f"  {label:<{width}}  {m['precision']:9.4f}  {m['recall']:6.4f}  {m['f1']:6.4f}"
            f"  {m['support']:7d}"
        )
    return "\n".join(lines)


def speed_benchmark(model_path: str | Path, messages_path: str | Path, repeats: int = 3) -> dict:
    """Classifier cost per message as a ratio to ``jieba.lcut`` on the same texts, same run.

    Times (best of ``repeats``): load (bundle + tokenizer init), ``jieba.lcut`` (default
    dictionary, HMM on) over title + body, :func:`tokenize`, and the classifier's share of the
    pipeline — ``predict_proba`` + ``explain`` on the shared tokens, batched and one by one.
    """
    import jieba

    from triage.tabular.files import TabularReader, join_text
    from triage.text.tokenizer import get_tokenizer

    start = time.perf_counter()
    model = load_bundle(model_path).category
    get_tokenizer()
    load_seconds = time.perf_counter() - start
    with TabularReader(messages_path) as reader:
        texts = [join_text(r.values, ["title", "body"]) for r in reader if r.values]
    texts = [normalize_text(t) for t in texts if t]
    jieba.initialize()
    tokens = [tokenize(t) for t in texts]

    def classify(batch: list[list[str]]) -> None:
        proba = model.predict_proba(batch)
        model.explain(batch, proba.argmax(axis=1), n_terms=5)

    best = {"jieba": float("inf"), "tokenize": float("inf"), "classifier": float("inf")}
    for _ in range(repeats):  # interleaved, so machine load hits all three alike
        for name, run in (
            ("jieba", lambda: [jieba.lcut(t) for t in texts]),
            ("tokenize", lambda: [tokenize(t) for t in texts]),
            ("classifier", lambda: classify(list(tokens))),
        ):
            t0 = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - t0)
    single = tokens[:300]
    t0 = time.perf_counter()
    for doc in single:
        classify([doc])
    single_ms = (time.perf_counter() - t0) / len(single) * 1e3
    n = len(texts)
    return {
        "messages": n,
        "mean_chars": round(sum(map(len, texts)) / n, 1),
        "load_seconds": round(load_seconds, 2),
        "jieba_lcut_ms_per_msg": round(best["jieba"] / n * 1e3, 4),
        "tokenize_ms_per_msg": round(best["tokenize"] / n * 1e3, 4),
        "classifier_ms_per_msg": round(best["classifier"] / n * 1e3, 4),
        "classifier_to_jieba_ratio": round(best["classifier"] / best["jieba"], 3),
        "tokenize_plus_classifier_throughput_vs_jieba": round(
            best["jieba"] / (best["tokenize"] + best["classifier"]), 3
        ),
        "single_message_ms": round(single_ms, 3),
    }


if __name__ == "__main__":  # python -m training.evaluate MODEL_DIR MESSAGES_CSV
    import json
    import sys

    print(json.dumps(speed_benchmark(sys.argv[1], sys.argv[2]), indent=2))
