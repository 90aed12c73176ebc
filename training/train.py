"""Train every head in one pass from a city's export, evaluate on held-out rows, save bundle + card.

Heads: the first-level category (the :class:`CategoryClassifier`, whose features all other heads
share), the category path when several ``label_cols`` are given, the request type (``type_col``)
and the department (``department_col``, a :class:`DepartmentModel`). Each head takes the rows whose
own label is present; rare classes (fewer than ``min_count`` rows) are merged into their parent path
or left to human review, and the model card lists them.

Policy: metrics come from a held-out part — the latest ``holdout`` fraction by ``split_by_time``
(what a city will see: later orders) or a stratified random split — with models fitted on the
rest; the auto-dispatch threshold is chosen on those held-out department predictions. Then every
head is **refit on all rows** and that refit is what is saved and scored on ``eval_data``.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sklearn.base import clone

from training.datasets import Export, LabelledData, load_export, load_labelled
from training.evaluate import format_metrics, prepare_tokens, score_model
from training.heads_eval import department_figures, hierarchy_figures, ranking_figures
from training.model_card import write_model_card
from training.splits import split_indices
from triage.classify.bundle import ModelBundle, save_bundle, tokenizer_fingerprint
from triage.classify.classifier import CategoryClassifier
from triage.classify.department import DepartmentModel, learn_jurisdiction, unit_family
from triage.classify.dispatch import DEFAULT_TARGET_PRECISION, METADATA_KEY, threshold_at_precision
from triage.classify.heads import HierarchyHead, LinearHead, RequestTypeHead, merge_rare_paths, path_label
from triage.dedup.sketch import TEMPLATES_KEY, template_keys
from triage.errors import InputError
from triage.text.intake import normalize_text

Echo = Callable[[str], None]
REVIEW = "(left to human review)"


@dataclass
class TrainOptions:
    data: Path
    text_cols: list[str]
    label_cols: list[str]
    out: Path
    department_col: str | None = None
    type_col: str | None = None
    not_a_department: list[str] = field(default_factory=list)
    split_by_time: str | None = None  # time column: hold out the latest ``holdout`` fraction
    min_count: int = 3  # classes with fewer rows are merged into their parent or left to review
    id_col: str | None = None  # repeated ids are dropped (first kept)
    district_col: str | None = None
    place_cols: list[str] = field(default_factory=list)
    address_cols: list[str] = field(default_factory=list)
    urgent_types: list[str] | None = None  # None: request types containing 紧急
    baseline: bool = True  # also score the plain TF-IDF + LinearSVC reference on the same split
    eval_data: Path | None = None
    eval_text_cols: list[str] | None = None
    eval_label_col: str | None = None
    holdout: float = 0.1
    seed: int = 0
    params: dict = field(default_factory=dict)  # CategoryClassifier parameters
    command: str = ""  # the exact command line, for the model card


@dataclass
class _Heads:
    category: CategoryClassifier
    hierarchy: HierarchyHead | None = None
    request_type: RequestTypeHead | None = None
    department: DepartmentModel | None = None


def _check_options(opts: TrainOptions) -> None:
    if not 0 <= opts.holdout < 0.5:
        raise InputError("holdout must be between 0 and 0.5", code="bad_option", field="holdout")
    if opts.min_count < 2:
        raise InputError("min-count must be at least 2", code="bad_option", field="min_count")
    if opts.split_by_time and opts.holdout <= 0:
        raise InputError("--split-by-time needs --holdout > 0", code="bad_option", field="holdout")


def _rare(labels: Sequence[str], min_count: int) -> set[str]:
    return {label for label, n in Counter(labels).items() if label and n < min_count}


def _level1_rows(
    data: Export, min_count: int, within: Sequence[int] | None = None
) -> tuple[list[int], set[str]]:
    """Rows the first-level head trains on (of ``within``, default all) and the rare labels left out."""
    first = data.column(0)
    within = range(len(data)) if within is None else within
    rare = _rare([first[i] for i in within], min_count)
    rows = [i for i in within if first[i] and first[i] not in rare]
    if len({first[i] for i in rows}) < 2:
        raise InputError(
            f"category column {data.label_columns[0]!r} needs at least two classes with {min_count}+ rows",
            code="too_few_classes",
            field="label_col",
        )
    return rows, rare


def _department_rows(data: Export, not_a_department: set[str]) -> list[int]:
    return [i for i, d in enumerate(data.departments) if d and d not in not_a_department]


def _check_departments(opts: TrainOptions, units: Sequence[str], districts: Sequence[str]) -> None:
    families = Counter(unit_family(u, districts)[0] for u in units)
    if sum(n >= opts.min_count for n in families.values()) < 2:
        raise InputError(
            f"department column {opts.department_col!r} needs at least two units with "
            f"{opts.min_count}+ rows (not-a-department labels left out: {len(opts.not_a_department)})",
            code="too_few_classes",
            field="department_col",
        )


def _fit_heads(
    opts: TrainOptions,
    data: Export,
    tokens: list[list[str]],
    rows: list[int],
    *,
    final: bool,
) -> _Heads:
    """Fit every head on ``rows``; ``final`` adds the featurizer's calibration (serving needs it)."""
    base = CategoryClassifier(**opts.params)
    first = data.column(0)
    picked = set(rows)
    cat_rows, _ = _level1_rows(data, opts.min_count, rows)
    category = clone(base).set_params(**({} if final else {"calibration_cv": 0}))
    category.fit([tokens[i] for i in cat_rows], [first[i] for i in cat_rows])
    heads = _Heads(category)
    cv = base.calibration_cv

    if len(data.label_columns) > 1:
        merged, _ = merge_rare_paths([path_label(data.labels[i]) for i in cat_rows], opts.min_count)
        # a parent left with a few rows after its frequent children took theirs: left to review
        counts = Counter(merged)
        keep = [j for j, p in enumerate(merged) if counts[p] >= opts.min_count]
        if len({merged[j] for j in keep}) >= 2:
            head = LinearHead(C=base.C, class_weight=base.class_weight, calibration_cv=cv if final else 0)
            head.fit(category.features([tokens[cat_rows[j]] for j in keep]), [merged[j] for j in keep])
            heads.hierarchy = HierarchyHead(category, head, list(data.label_columns))

    if opts.type_col:
        rare = _rare([data.types[i] for i in rows], opts.min_count)
        type_rows = [i for i in rows if data.types[i] and data.types[i] not in rare]
        labels = [data.types[i] for i in type_rows]
        if len(set(labels)) >= 2:
            head = LinearHead(C=base.C, class_weight=base.class_weight, calibration_cv=cv)
            head.fit(category.features([tokens[i] for i in type_rows]), labels)
            urgent = opts.urgent_types or [t for t in head.classes_ if "紧急" in str(t)]
            heads.request_type = RequestTypeHead(category, head, frozenset(map(str, urgent)))

    if opts.department_col:
        dept_rows = [i for i in _department_rows(data, set(opts.not_a_department)) if i in picked]
        units = [data.departments[i] for i in dept_rows]
        jurisdiction = learn_jurisdiction(
            units,
            [data.fields[i] for i in dept_rows],
            district_column=opts.district_col,
            place_columns=opts.place_cols,
            address_columns=opts.address_cols,
        )
        model = DepartmentModel(
            category, jurisdiction, not_a_department=opts.not_a_department, min_count=opts.min_count,
            calibration_cv=cv,
        )  # fmt: skip
        _check_departments(opts, units, jurisdiction.districts)
        heads.department = model.fit([tokens[i] for i in dept_rows], units)
    return heads


def _merged_classes(opts: TrainOptions, data: Export, heads: _Heads) -> dict:
    """What the card lists: rare classes merged into a parent, or left out for human review."""
    out: dict[str, dict[str, str]] = {}
    rare = _rare(data.column(0), opts.min_count)
    if rare:
        out["category"] = {label: REVIEW for label in sorted(rare)}
    if heads.hierarchy is not None:
        paths = [path_label(row) for row in data.labels if row[0] and row[0] not in rare]
        out["category_path"] = dict(sorted(merge_rare_paths(paths, opts.min_count)[1].items()))
    if opts.type_col:
        out["request_type"] = {t: REVIEW for t in sorted(_rare(data.types, opts.min_count))}
    if heads.department is not None:
        dept = heads.department
        merged = {}
        for unit, n in sorted(
            Counter(data.departments[i] for i in _department_rows(data, set(opts.not_a_department))).items()
        ):
            family, district = unit_family(unit, dept.jurisdiction.districts)
            if unit in dept.left_out_:
                merged[unit] = REVIEW
            elif n < opts.min_count and district is not None:
                merged[unit] = f"{family} (family; jurisdiction picks {district})"
        out["department"] = merged
    return {k: v for k, v in out.items() if v}


def _held_out(
    opts: TrainOptions, data: Export, tokens: list[list[str]], echo: Echo
) -> tuple[dict, dict, dict | None]:
    """(metrics, split description, auto-dispatch choice) from models fitted on the split's train part."""
    kind = "time" if opts.split_by_time else "stratified"
    split = split_indices(
        data, opts.holdout, opts.seed, by_time=bool(opts.split_by_time), min_count=opts.min_count
    )
    if split is None:
        echo("data too small for a held-out split; skipping held-out metrics")
        return {}, {"kind": "none"}, None
    train, test = split
    desc: dict = {"kind": kind, "fraction": opts.holdout, "train_rows": len(train), "test_rows": len(test)}
    if opts.split_by_time:
        for name, part in (("train", train), ("test", test)):
            times = [t for t in (data.times[i] for i in part) if t is not None]
            desc[f"{name}_time_range"] = (
                [min(times).isoformat(sep=" "), max(times).isoformat(sep=" ")] if times else None
            )
    heads = _fit_heads(opts, data, tokens, train, final=False)
    metrics: dict = {}
    first = data.column(0)
    cat_test = [i for i in test if first[i]]
    metrics["holdout"] = score_model(
        heads.category, [tokens[i] for i in cat_test], [first[i] for i in cat_test]
    )
    echo(
        format_metrics(
            metrics["holdout"],
            f"category: held-out {kind} split ({len(cat_test)} rows, fitted on {len(train)})",
        )
    )
    if heads.hierarchy is not None:
        metrics["hierarchy_holdout"] = hierarchy_figures(
            heads.category, heads.hierarchy, data, tokens, cat_test
        )
        echo(f"category path: held-out per-level accuracy {metrics['hierarchy_holdout']['level_accuracy']}")
    if heads.request_type is not None:
        type_test = [i for i in test if data.types[i]]
        proba = heads.request_type.predict_proba([tokens[i] for i in type_test])
        metrics["request_type_holdout"] = ranking_figures(
            proba, heads.request_type.classes_, [data.types[i] for i in type_test]
        )
        echo(f"request type: held-out accuracy {metrics['request_type_holdout']['accuracy']:.4f}")
    choice = None
    if heads.department is not None:
        nad = set(opts.not_a_department)
        dept_test = [i for i in test if data.departments[i] and data.departments[i] not in nad]
        figures, confidences, correct = department_figures(
            heads.department, data, tokens, dept_test, skipped=len(test) - len(dept_test)
        )
        choice = threshold_at_precision(confidences, correct, DEFAULT_TARGET_PRECISION)  # auto-dispatch's
        figures["coverage_at_precision_95"] = round(choice.coverage, 4)
        metrics["department_holdout"] = figures
        echo(
            f"department: held-out top-1 {figures['accuracy']:.4f}, top-3 {figures['top3']:.4f}, "
            f"coverage at 95% precision {choice.coverage:.4f} "
            f"(threshold {choice.threshold:.4f}, n={figures['n']})"
        )
    if opts.baseline:
        from training.baseline import baseline_figures

        metrics["baseline_holdout"] = baseline_figures(opts, data, tokens, train, test)
        echo(f"plain TF-IDF + LinearSVC on the same split: {metrics['baseline_holdout']}")
    return metrics, desc, (choice.to_dict() if choice is not None else None)


def run_training(opts: TrainOptions, echo: Echo = print, warn: Echo = print) -> dict:
    """Train, evaluate, save the bundle and the model card; return the card's content."""
    _check_options(opts)
    started = time.perf_counter()
    place = [*opts.place_cols, *opts.address_cols] + ([opts.district_col] if opts.district_col else [])
    data = load_export(
        opts.data, opts.text_cols, opts.label_cols, department_column=opts.department_col,
        type_column=opts.type_col, time_column=opts.split_by_time, id_column=opts.id_col,
        field_columns=list(dict.fromkeys(place)),
    )  # fmt: skip
    for line in data.skip_report():
        warn(f"warning: {data.path.name}: {line}")
    _level1_rows(data, opts.min_count)  # fail early, before any fitting
    if opts.department_col:
        _check_departments(
            opts, [data.departments[i] for i in _department_rows(data, set(opts.not_a_department))], []
        )
    eval_data: LabelledData | None = None
    if opts.eval_data is not None:  # read it early: a bad eval file should fail before training
        eval_data = load_labelled(
            opts.eval_data, opts.eval_text_cols or opts.text_cols, opts.eval_label_col or opts.label_cols[0]
        )
        for line in eval_data.skip_report():
            warn(f"warning: {eval_data.path.name}: {line}")
    echo(f"read {len(data)} rows from {data.path.name} ({data.format}, {data.encoding or 'xlsx'})")
    for col, n in data.empty.items():
        if n:
            warn(f"warning: {data.path.name}: {n} rows with an empty {col} are left out of that head")

    start = time.perf_counter()
    tokens = prepare_tokens(data.texts)
    timings = {"tokenize_seconds": round(time.perf_counter() - start, 2)}
    start = time.perf_counter()
    metrics, split, auto_dispatch = _held_out(opts, data, tokens, echo)
    timings["holdout_seconds"] = round(time.perf_counter() - start, 2)
    start = time.perf_counter()
    heads = _fit_heads(opts, data, tokens, list(range(len(data))), final=True)
    timings["fit_seconds"] = round(time.perf_counter() - start, 2)
    echo(f"refit every head on all {len(data)} rows in {timings['fit_seconds']:.1f} s")
    if eval_data is not None:
        metrics["eval"] = score_model(heads.category, prepare_tokens(eval_data.texts), eval_data.labels)
        echo(format_metrics(metrics["eval"], f"category: eval data {eval_data.path.name} (refit model)"))
    timings["total_seconds"] = round(time.perf_counter() - started, 2)

    estimator = heads.category
    metadata = {
        "training_data": data.description(),
        "eval_data": eval_data.description() if eval_data else None,
        "metrics": metrics,
        "split": split,
        "merged_classes": _merged_classes(opts, data, heads),
        "not_a_department": sorted(set(opts.not_a_department)),
        "min_count": opts.min_count,
        "field_columns": heads.department.jurisdiction.field_columns if heads.department else [],
        "heads": [name for name in ("hierarchy", "request_type", "department") if getattr(heads, name)],
        "training_parameters": {
            "estimator": type(estimator).__name__,
            "params": estimator.get_params(),
            "holdout": opts.holdout,
            "split_by_time": opts.split_by_time,
            "seed": opts.seed,
            "refit_on_all_data": True,
            "text_preprocessing": "triage.text.intake.normalize_text, then triage.text.tokenizer.tokenize",
        },
        "tokenizer_fingerprint": tokenizer_fingerprint(),
        "timings": timings,
        "command": opts.command,
        "n_features": int(estimator.n_features_in_),
        "temperature": round(float(estimator.temperature_), 4),
    }
    if heads.department is not None:
        metadata["jurisdiction"] = {
            "districts": heads.department.jurisdiction.districts,
            "places": len(heads.department.jurisdiction.places),
        }
        if auto_dispatch is not None:
            metadata[METADATA_KEY] = auto_dispatch
    templates = template_keys([normalize_text(t) for t in data.texts])
    if len(templates):  # the duplicate index leaves the export's template trigrams out
        metadata[TEMPLATES_KEY] = templates.tolist()
    if heads.request_type is not None:
        metadata["urgent_types"] = sorted(heads.request_type.urgent_labels)
    bundle = ModelBundle(
        category=heads.category,
        department=heads.department,
        metadata=metadata,
        heads={k: v for k, v in (("hierarchy", heads.hierarchy), ("request_type", heads.request_type)) if v},
    )
    model_file = save_bundle(bundle, opts.out)
    card = write_model_card(opts.out, bundle.metadata, model_file)
    echo(f"saved {model_file} ({model_file.stat().st_size / 1e6:.1f} MB), version {bundle.model_version}")
    return card
