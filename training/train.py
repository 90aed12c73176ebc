"""Train the category (and optional department) classifier, evaluate it, save bundle and model card.

Policy: metrics are measured on a stratified held-out split of the training file (``holdout``)
with a model fitted on the rest; then the model is **refit on all rows** and that refit model is
what gets saved and what is scored on ``eval_data``. The held-out figures therefore estimate the
shipped model (slightly pessimistically: it saw ``holdout`` more data), while eval-data figures
are of the shipped model itself. Near-duplicate messages in the training file can make the
held-out figures optimistic; an independent eval file is the better judge.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sklearn.base import clone
from sklearn.model_selection import train_test_split

from training.datasets import LabelledData, load_labelled
from training.evaluate import format_metrics, prepare_tokens, score_model
from training.model_card import write_model_card
from triage.classifier import CategoryClassifier
from triage.errors import InputError
from triage.model_io import ModelBundle, save_bundle, tokenizer_fingerprint

Echo = Callable[[str], None]


@dataclass
class TrainOptions:
    data: Path
    text_cols: list[str]
    label_col: str
    out: Path
    department_col: str | None = None
    eval_data: Path | None = None
    eval_text_cols: list[str] | None = None
    eval_label_col: str | None = None
    holdout: float = 0.1
    seed: int = 0
    params: dict = field(default_factory=dict)  # CategoryClassifier parameters
    command: str = ""  # the exact command line, for the model card


def _split(labels: Sequence[str], holdout: float, seed: int) -> tuple[list[int], list[int]] | None:
    """Stratified (train, held-out) indices, or None when the data is too small to split."""
    counts = Counter(labels)
    n_test = max(math.ceil(holdout * len(labels)), len(counts))
    if holdout <= 0 or min(counts.values()) < 3 or len(labels) - n_test < 2 * len(counts):
        return None
    train, test = train_test_split(
        list(range(len(labels))), test_size=n_test, stratify=list(labels), random_state=seed
    )
    return sorted(train), sorted(test)


def _check_trainable(labels: Sequence[str], what: str) -> None:
    counts = Counter(labels)
    if len(counts) < 2:
        raise InputError(f"{what} needs at least two classes, found {len(counts)}", code="too_few_classes")
    rare = sorted(label for label, n in counts.items() if n < 2)
    if rare:
        raise InputError(
            f"{what} classes with fewer than 2 examples: {', '.join(rare[:10])}", code="too_few_examples"
        )


def _fit_and_score(
    estimator: CategoryClassifier,
    tokens: list[list[str]],
    labels: list[str],
    split: tuple[list[int], list[int]] | None,
    name: str,
    echo: Echo,
) -> tuple[CategoryClassifier, dict | None, dict]:
    """Held-out metrics (model fitted on the split's train part), then the refit on everything."""
    timings: dict[str, float] = {}
    held_out = None
    if split is None:
        echo(f"{name}: data too small for a held-out split; skipping held-out metrics")
    else:
        train, test = split
        start = time.perf_counter()
        # Held-out scoring uses predict only, which calibration does not change: skip its CV fits.
        model = clone(estimator).set_params(calibration_cv=0)
        model.fit([tokens[i] for i in train], [labels[i] for i in train])
        timings["holdout_fit_seconds"] = round(time.perf_counter() - start, 2)
        held_out = score_model(model, [tokens[i] for i in test], [labels[i] for i in test])
        echo(
            format_metrics(
                held_out, f"{name}: held-out split ({len(test)} rows, model fitted on {len(train)})"
            )
        )
    start = time.perf_counter()
    final = clone(estimator).fit(tokens, labels)
    timings["fit_seconds"] = round(time.perf_counter() - start, 2)
    echo(f"{name}: refit on all {len(labels)} rows in {timings['fit_seconds']:.1f} s")
    return final, held_out, timings


def run_training(opts: TrainOptions, echo: Echo = print, warn: Echo = print) -> dict:
    """Train, evaluate, save the bundle and the model card; return the card's content."""
    if not 0 <= opts.holdout < 0.5:
        raise InputError("holdout must be between 0 and 0.5", code="bad_option", field="holdout")
    started = time.perf_counter()
    data = load_labelled(opts.data, opts.text_cols, opts.label_col, department_column=opts.department_col)
    for line in data.skip_report():
        warn(f"warning: {data.path.name}: {line}")
    _check_trainable(data.labels, "category")
    eval_data: LabelledData | None = None
    if opts.eval_data is not None:  # read it early: a bad eval file should fail before training
        eval_data = load_labelled(
            opts.eval_data, opts.eval_text_cols or opts.text_cols, opts.eval_label_col or opts.label_col
        )
        for line in eval_data.skip_report():
            warn(f"warning: {eval_data.path.name}: {line}")
    echo(f"read {len(data)} rows from {data.path.name} ({data.format}, {data.encoding or 'xlsx'})")

    start = time.perf_counter()
    tokens = prepare_tokens(data.texts)
    timings = {"tokenize_seconds": round(time.perf_counter() - start, 2)}
    estimator = CategoryClassifier(**opts.params)
    split = _split(data.labels, opts.holdout, opts.seed)
    category, held_out, fit_times = _fit_and_score(estimator, tokens, data.labels, split, "category", echo)
    timings.update(fit_times)
    metrics: dict = {"holdout": held_out}

    department = None
    if opts.department_col:
        keep = [i for i, d in enumerate(data.departments) if d]
        if len(keep) < len(data):
            warn(f"warning: {len(data) - len(keep)} rows without a department are left out of that model")
        dept_labels = [data.departments[i] for i in keep]
        _check_trainable(dept_labels, "department")
        department, dept_held_out, dept_times = _fit_and_score(
            estimator,
            [tokens[i] for i in keep],
            dept_labels,
            _split(dept_labels, opts.holdout, opts.seed),
            "department",
            echo,
        )
        metrics["department_holdout"] = dept_held_out
        timings.update({f"department_{k}": v for k, v in dept_times.items()})

    if eval_data is not None:
        metrics["eval"] = score_model(category, prepare_tokens(eval_data.texts), eval_data.labels)
        echo(format_metrics(metrics["eval"], f"category: eval data {eval_data.path.name} (refit model)"))
    timings["total_seconds"] = round(time.perf_counter() - started, 2)

    metadata = {
        "training_data": data.description(),
        "eval_data": eval_data.description() if eval_data else None,
        "metrics": metrics,
        "training_parameters": {
            "estimator": type(estimator).__name__,
            "params": estimator.get_params(),
            "holdout": opts.holdout,
            "seed": opts.seed,
            "refit_on_all_data": True,
            "text_preprocessing": "triage.intake.normalize_text, then triage.tokenizer.tokenize",
        },
        "tokenizer_fingerprint": tokenizer_fingerprint(),
        "timings": timings,
        "command": opts.command,
        "n_features": int(category.n_features_in_),
        "temperature": round(float(category.temperature_), 4),
    }
    bundle = ModelBundle(category=category, department=department, metadata=metadata)
    model_file = save_bundle(bundle, opts.out)
    card = write_model_card(opts.out, bundle.metadata, model_file)
    echo(f"saved {model_file} ({model_file.stat().st_size / 1e6:.1f} MB), version {bundle.model_version}")
    return card
