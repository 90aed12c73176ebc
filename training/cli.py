"""Training commands registered into the ``triage`` CLI (see pyproject entry points)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer

from triage.errors import TriageError


def _command_line() -> str:
    """The command as typed, for the model card (``triage train …``)."""
    return "triage " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:] else ""


def register(app: typer.Typer) -> None:
    """Add ``train`` and ``evaluate`` to the triage CLI."""
    from triage.cli import fail, print_json

    @app.command()
    def train(
        data: Annotated[Path, typer.Option(help="Labelled training file (.csv, .tsv, .xlsx, .jsonl).")],
        text_col: Annotated[
            list[str], typer.Option(help="Text column; repeat to join several (title, body).")
        ],
        label_col: Annotated[
            list[str], typer.Option(help="Category label column; repeat for deeper levels (level 1 first).")
        ],
        out: Annotated[Path, typer.Option(help="Output directory for model.joblib and the model card.")],
        department_col: Annotated[str | None, typer.Option(help="Also train a department model.")] = None,
        type_col: Annotated[
            str | None, typer.Option(help="Request-type column (诉求类型); its 紧急 type raises priority.")
        ] = None,
        not_a_department: Annotated[
            list[str] | None,
            typer.Option(help="A department-column value that is no department (其他单位); repeatable."),
        ] = None,
        split_by_time: Annotated[
            str | None, typer.Option(help="Date column: hold out the latest --holdout fraction.")
        ] = None,
        min_count: Annotated[
            int, typer.Option(help="Classes with fewer rows are merged into their parent or left to review.")
        ] = 3,
        id_col: Annotated[
            str | None, typer.Option(help="Work-order id column: repeated ids are dropped.")
        ] = None,
        district_col: Annotated[
            str | None, typer.Option(help="District column (辖区), for jurisdiction-aware departments.")
        ] = None,
        place_col: Annotated[
            list[str] | None, typer.Option(help="Street / community column (镇街, 村居); repeatable.")
        ] = None,
        address_col: Annotated[
            list[str] | None, typer.Option(help="Address column searched for place names; repeatable.")
        ] = None,
        urgent_type: Annotated[
            list[str] | None, typer.Option(help="Request types meaning urgent (default: those with 紧急).")
        ] = None,
        baseline: Annotated[
            bool, typer.Option(help="Also score a plain TF-IDF + LinearSVC on the same split.")
        ] = True,
        eval_data: Annotated[Path | None, typer.Option(help="Independent labelled file to score.")] = None,
        eval_text_col: Annotated[
            list[str] | None, typer.Option(help="Text column(s) of --eval-data.")
        ] = None,
        eval_label_col: Annotated[str | None, typer.Option(help="Label column of --eval-data.")] = None,
        holdout: Annotated[
            float, typer.Option(help="Held-out fraction for metrics (latest rows with --split-by-time).")
        ] = 0.1,
        seed: Annotated[int, typer.Option(help="Random seed of the split and the SVM.")] = 0,
        word_min_df: Annotated[int, typer.Option(help="Rows a word n-gram must occur in.")] = 3,
        char_min_df: Annotated[int, typer.Option(help="Rows a character n-gram must occur in.")] = 5,
        c: Annotated[float, typer.Option("--c", help="SVM regularisation C of the category heads.")] = 1.0,
    ) -> None:
        """Train every head in one pass, print metrics, save the bundle and its model card.

        Metrics come from a held-out split (the latest rows with --split-by-time); the saved model
        is then refit on all rows.
        """
        from training.train import TrainOptions, run_training

        opts = TrainOptions(
            data=data,
            text_cols=text_col,
            label_cols=label_col,
            out=out,
            department_col=department_col,
            type_col=type_col,
            not_a_department=not_a_department or [],
            split_by_time=split_by_time,
            min_count=min_count,
            id_col=id_col,
            district_col=district_col,
            place_cols=place_col or [],
            address_cols=address_col or [],
            urgent_types=urgent_type or None,
            baseline=baseline,
            eval_data=eval_data,
            eval_text_cols=eval_text_col or None,
            eval_label_col=eval_label_col,
            holdout=holdout,
            seed=seed,
            params={"random_state": seed, "word_min_df": word_min_df, "char_min_df": char_min_df, "C": c},
            command=_command_line(),
        )
        try:
            run_training(opts, echo=typer.echo, warn=lambda line: typer.echo(line, err=True))
        except TriageError as exc:
            raise fail(str(exc)) from None

    @app.command()
    def evaluate(
        model: Annotated[Path, typer.Option(help="Model directory or model.joblib file.")],
        data: Annotated[Path, typer.Option(help="Labelled file (.csv, .tsv, .xlsx, .jsonl).")],
        text_col: Annotated[
            list[str], typer.Option(help="Text column; repeat to join several (title, body).")
        ],
        label_col: Annotated[
            list[str], typer.Option(help="Category label column (the first one is scored).")
        ],
        department_col: Annotated[str | None, typer.Option(help="Also score the department model.")] = None,
        not_a_department: Annotated[
            list[str] | None,
            typer.Option(help="Department values left out of its figures (besides the model's own)."),
        ] = None,
        json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    ) -> None:
        """Score a saved model on a labelled file: accuracy, macro-F1 and per-class figures."""
        from training.evaluate import evaluate_file, format_metrics

        try:
            result = evaluate_file(
                model,
                data,
                text_col,
                label_col[0],
                department_column=department_col,
                not_a_department=not_a_department or (),
            )
        except TriageError as exc:
            raise fail(str(exc)) from None
        for line in result["skipped"]:
            typer.echo(f"warning: {Path(data).name}: {line}", err=True)
        if json_output:
            print_json(result)
            return
        typer.echo(format_metrics(result, f"model {result['model_version']} on {Path(data).name}"))
        if dept := result.get("department"):
            typer.echo(
                f"department: n={dept['n']} (skipped {dept['skipped']})  top-1={dept['accuracy']:.4f}  "
                f"top-3={dept['top3']:.4f}  coverage at 95% precision={dept['coverage_at_precision_95']:.4f}"
            )
