"""Model card (Markdown + JSON) and confusion-matrix PNG written next to the saved bundle."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from triage.dedup.sketch import TEMPLATE_MIN_SHARE, TEMPLATES_KEY

INTENDED_USE = (
    "Suggests the first-level category of a Chinese citizen message (petition / 12345-style "
    "request) so that a human dispatcher can route it faster. Every suggestion comes with "
    "calibrated probabilities, the top alternatives and the terms that drove it; low-confidence "
    "cases are flagged for review. It assists dispatchers; it does not decide cases."
)
LIMITATIONS = [
    "Trained on one provincial board's messages (2020 TipDM Cup data): 7 of the 15 first-level "
    "categories of the taxonomy have labelled examples, so messages about the other 8 are always "
    "forced into one of these 7 — route them by rule or by hand.",
    "The training text was jieba-tokenized with stopwords removed before we received it, while "
    "live messages are raw; character n-grams narrow but do not close that gap (compare the "
    "held-out and eval-data figures).",
    "Bag-of-n-grams model: it does not understand negation, sarcasm or long-range context, and "
    "messages mixing several issues get the category of the dominant vocabulary.",
    "Place names are anonymised in the data (A市, A3区); real place names are unseen words.",
    "Held-out figures come from a random split of a file that contains near-duplicate messages, so "
    "they are optimistic; the eval-data figures are the better estimate.",
    "Probabilities are calibrated on the training distribution (temperature scaling); under drift "
    "they become over-confident. Re-evaluate on fresh labelled messages periodically.",
]

CITY_INTENDED_USE = (
    "Suggests, for a city's 12345 work orders, the category path of the city's own taxonomy, the "
    "request type and the handling unit, each with calibrated top-k probabilities and a reason, so "
    "that a dispatcher can route faster; above the auto-dispatch threshold (chosen on later held-out "
    "orders for ≥ 95 % precision) a case may skip review when the service allows it."
)
CITY_LIMITATIONS = [
    "Learned from one export of the city's history: units, taxonomy and wording drift (re-organised "
    "bureaus, new campaigns); retrain on fresh orders and re-check the auto-dispatch threshold.",
    "Units the history shows fewer than `min_count` times are never suggested on their own (district "
    "units borrow their family's evidence); such cases need the routing rules or a reviewer.",
    "Jurisdiction comes from the district / street named in the case's fields or text; a case naming "
    "several districts gets the one named most, and an unnamed place keeps the family's history.",
    "Catch-all labels listed as not departments are left out: cases that truly belong to provincial or "
    "other-city bodies get a Haikou unit suggestion and must be recognised by the reviewer.",
    "Bag-of-n-grams heads: no negation or long-range context; the request type's 紧急 depends on "
    "wording and raises priority only when its probability passes the threshold.",
    "Probabilities are calibrated on the training history (temperature scaling); under drift they "
    "become over-confident, so the auto-dispatch guarantee holds only as long as the data resembles it.",
]


def chinese_font() -> str | None:
    """Family of an installed font that renders Chinese (``fc-list :lang=zh``), else None.

    The font file is registered with matplotlib directly, so a font installed after
    matplotlib built its cache is still found.
    """
    if shutil.which("fc-list") is None:
        return None
    try:
        out = subprocess.run(
            ["fc-list", ":lang=zh", "file"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    from matplotlib import font_manager

    for path in sorted(line.strip().rstrip(":") for line in out.splitlines() if line.strip()):
        try:
            font_manager.fontManager.addfont(path)
            return font_manager.FontProperties(fname=path).get_name()
        except (OSError, RuntimeError, ValueError):
            continue
    return None


def plot_confusion(matrix: list[list[int]], labels: list[str], path: Path, title: str) -> bool:
    """Save the confusion matrix as PNG; returns True if class names (not indices) label the axes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    font = chinese_font()
    names = labels if font else [str(i) for i in range(len(labels))]
    with plt.rc_context({"font.family": [font, "sans-serif"]} if font else {}):
        fig, ax = plt.subplots(figsize=(2.5 + 0.65 * len(labels), 2.2 + 0.6 * len(labels)), dpi=110)
        im = ax.imshow(matrix, cmap="Blues")
        ax.set_xticks(range(len(labels)), names, rotation=45 if font else 0, ha="right" if font else "center")
        ax.set_yticks(range(len(labels)), names)
        top = max((max(row) for row in matrix), default=0)
        for i, row in enumerate(matrix):
            for j, value in enumerate(row):
                color = "white" if value > top / 2 else "black"
                ax.text(j, i, str(value), ha="center", va="center", color=color, fontsize=8)
        ax.set_xlabel("predicted class")
        ax.set_ylabel("true class")
        ax.set_title(title, fontsize=9)
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
        fig.tight_layout()
        fig.savefig(path)
        plt.close(fig)
    return font is not None


def _metrics_table(metrics: dict) -> list[str]:
    ci = metrics.get("macro_f1_ci95")
    lines = [
        f"n = {metrics['n']}, accuracy = **{metrics['accuracy']:.4f}**, "
        f"macro-F1 = **{metrics['macro_f1']:.4f}**"
        + (f" (95 % bootstrap interval {ci[0]:.4f}–{ci[1]:.4f})" if ci else ""),
        "",
        "| # | class | precision | recall | F1 | support |",
        "|---|---|---|---|---|---|",
    ]
    for i, (label, m) in enumerate(metrics["per_class"].items()):
        lines.append(
            f"| {i} | {label} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['support']} |"
        )
    return lines


def _data_lines(desc: dict) -> list[str]:
    skipped = ", ".join(f"{k}: {v}" for k, v in desc["rows_skipped"].items()) or "none"
    counts = ", ".join(f"{k} {v}" for k, v in desc["label_counts"].items())
    return [
        f"- file `{desc['file']}` ({desc['format']}, {desc['encoding'] or 'xlsx'}), "
        f"sha256 `{desc['sha256']}`",
        f"- rows read {desc['rows_read']}, used {desc['rows_used']}, skipped: {skipped}",
        f"- text columns {desc['text_columns']} (joined in order), label column `{desc['label_column']}`"
        + (f", department column `{desc['department_column']}`" if desc.get("department_column") else ""),
        f"- label counts: {counts}",
    ]


def _split_line(metadata: dict) -> str:
    params, split = metadata["training_parameters"], metadata.get("split") or {}
    if split.get("kind") == "time":
        return (
            f"- held-out split: the latest {split['fraction']:.0%} by `{params['split_by_time']}` "
            f"({split['test_rows']} rows, {split.get('test_time_range')}) with models fitted on the earlier "
            f"{split['train_rows']} ({split.get('train_time_range')}); the saved model is then refit "
            "on all rows"
        )
    return (
        f"- held-out split: {params['holdout']:.0%} stratified, seed {params['seed']}; the saved model "
        "is then refit on all rows (held-out figures estimate it; eval-data figures are of the saved "
        "model itself)"
    )


def _heads_lines(metadata: dict) -> list[str]:
    """Figures of the extra heads, the plain baseline, auto-dispatch and the merged classes."""
    metrics, lines = metadata.get("metrics", {}), []
    if h := metrics.get("hierarchy_holdout"):
        pairs = zip(h["levels"], h["level_accuracy"], strict=True)
        levels = ", ".join(f"{name} {acc}" for name, acc in pairs)
        lines += ["### Category path (held-out)", "", f"- per-level accuracy: {levels}",
                  f"- levels consistent with the first level: {h['consistent_share']}", ""]  # fmt: skip
    if t := metrics.get("request_type_holdout"):
        lines += ["### Request type (held-out)", "",
                  f"- n = {t['n']}, accuracy {t['accuracy']}, top-3 {t['top3']}; "
                  f"urgent types {metadata.get('urgent_types')}", ""]  # fmt: skip
    if d := metrics.get("department_holdout"):
        lines += ["### Department (held-out)", "",
                  f"- n = {d['n']} scored, {d['skipped']} skipped (empty or not a department); "
                  f"top-1 **{d['accuracy']}**, top-3 **{d['top3']}**, coverage at ≥ 95 % precision "
                  f"**{d['coverage_at_precision_95']}**; {d.get('unseen_units', 0)} rows went to units "
                  "the training part never showed", ""]  # fmt: skip
    if a := metadata.get("auto_dispatch"):
        lines += [f"- auto-dispatch threshold {a['threshold']:.4f}: on the held-out rows it kept "
                  f"{a['coverage']:.1%} of cases at precision {a['precision']:.1%} (n = {a['n']})",
                  ""]  # fmt: skip
    if b := metrics.get("baseline_holdout"):
        lines += ["### Plain baseline on the same split (word + char TF-IDF, LinearSVC)", "",
                  "| head | figure | this model | plain baseline |", "|---|---|---|---|"]  # fmt: skip
        if c := b.get("category"):
            own = metrics.get("holdout") or {}
            lines += [
                f"| category level 1 | accuracy | {own.get('accuracy')} | {c['accuracy']} |",
                f"| category level 1 | macro-F1 | {own.get('macro_f1')} | {c['macro_f1']} |",
            ]
        if c := b.get("department"):
            names = (("accuracy", "top-1"), ("top3", "top-3"), ("coverage_at_precision_95", "coverage@95%"))
            for key, name in names:
                lines.append(f"| department | {name} | {(d or {}).get(key)} | {c[key]} |")
        lines.append("")
    if metadata.get("not_a_department"):
        lines += ["## Labels that are not departments", "",
                  "Never suggested and left out of department figures: "
                  + ", ".join(f"`{x}`" for x in metadata["not_a_department"]), ""]  # fmt: skip
    if templates := metadata.get(TEMPLATES_KEY):
        lines += ["## Template text", "",
                  f"{len(templates)} character trigrams occur in at least {TEMPLATE_MIN_SHARE:.0%} of the "
                  "training rows (the export's template wording); the duplicate index leaves them out, so "
                  "that orders sharing only the template are not suggested as copies.", ""]  # fmt: skip
    merged = metadata.get("merged_classes") or {}
    if merged:
        lines += ["## Rare classes", "",
                  f"Classes with fewer than {metadata.get('min_count')} rows are merged into their parent "
                  "or left to human review:", ""]  # fmt: skip
        for head, items in merged.items():
            shown = "; ".join(f"{k} → {v}" for k, v in list(items.items())[:60])
            more = f" … ({len(items)} in all)" if len(items) > 60 else ""
            lines += [f"- **{head}**: {shown}{more}"]
        lines.append("")
    return lines


def write_model_card(out_dir: Path, metadata: dict, model_file: Path) -> dict:
    """Write model_card.md, model_card.json and confusion_matrix.png; return the JSON content."""
    out_dir = Path(out_dir)
    metrics = metadata.get("metrics", {})
    shown_name, shown = (
        ("eval data", metrics.get("eval")) if metrics.get("eval") else ("held-out", metrics.get("holdout"))
    )
    card = dict(metadata) | {"model_file": model_file.name, "model_size_bytes": model_file.stat().st_size}
    city = bool(metadata.get("heads"))
    intended, limitations = (CITY_INTENDED_USE, CITY_LIMITATIONS) if city else (INTENDED_USE, LIMITATIONS)
    card |= {"intended_use": intended, "limitations": limitations}
    named_axes = False
    if shown:
        title = f"{metadata['model_version']} on {shown_name} (n={shown['n']})"
        named_axes = plot_confusion(
            shown["confusion_matrix"], shown["labels"], out_dir / "confusion_matrix.png", title
        )
        card["confusion_matrix_png"] = {
            "file": "confusion_matrix.png",
            "of": shown_name,
            "axes": "names" if named_axes else "indices",
        }
    (out_dir / "model_card.json").write_text(
        json.dumps(card, ensure_ascii=False, indent=2, default=str) + "\n"
    )

    params = metadata["training_parameters"]
    md = [
        "# City model (category path, request type, department) — model card"
        if city
        else "# Category classifier — model card",
        "",
        f"- **model version** `{metadata['model_version']}` (sha256 of the pickled models), "
        f"created {metadata['created_at']}",
        f"- **file** `{model_file.name}`, {model_file.stat().st_size / 1e6:.1f} MB",
        f"- **estimator** `{params['estimator']}`: word (1–2)-gram + character (1–3)-gram TF-IDF over the "
        f"tokens, linear SVM, temperature-scaled probabilities (T = {metadata.get('temperature')}), "
        f"{metadata.get('n_features')} features",
        f"- **parameters** `{json.dumps(params['params'], ensure_ascii=False, default=str)}`",
        f"- **text handling** {params['text_preprocessing']}; "
        f"tokenizer fingerprint `{metadata['tokenizer_fingerprint']}`",
        "",
        "Reproduce with:",
        "",
        "```sh",
        metadata.get("command") or "(command not recorded)",
        "```",
        "",
        "## Intended use",
        "",
        intended,
        "",
        "## Limitations",
        "",
        *[f"- {item}" for item in limitations],
        "",
        "## Training data",
        "",
        *_data_lines(metadata["training_data"]),
        _split_line(metadata),
        "",
    ]
    if metadata.get("eval_data"):
        md += ["## Evaluation data", "", *_data_lines(metadata["eval_data"]), ""]
    md += ["## Metrics", ""]
    for key, name in (
        ("eval", "Eval data (saved model)"),
        ("holdout", "Held-out split"),
        ("department_holdout", "Department model, held-out split"),
    ):
        if metrics.get(key) and "per_class" in metrics[key]:
            md += [f"### {name}", "", *_metrics_table(metrics[key]), ""]
    md += _heads_lines(metadata)
    if shown:
        md += [f"### Confusion matrix ({shown_name})", "", "![confusion matrix](confusion_matrix.png)", ""]
        if not named_axes:
            md += ["No font rendering Chinese is installed, so the axes show class numbers:", ""]
            md += [f"- {i}: {label}" for i, label in enumerate(shown["labels"])] + [""]
    timings = metadata.get("timings", {})
    md += [
        "## Training time",
        "",
        *[f"- {k.replace('_', ' ')}: {v} s" for k, v in timings.items()],
        "",
        "## Library versions",
        "",
        *[f"- {k} {v}" for k, v in metadata["library_versions"].items()],
        "",
    ]
    (out_dir / "model_card.md").write_text("\n".join(md))
    return card
