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
        label_col: Annotated[str, typer.Option(help="Category label column.")],
        out: Annotated[Path, typer.Option(help="Output directory for model.joblib and the model card.")],
        department_col: Annotated[str | None, typer.Option(help="Also train a department model.")] = None,
        eval_data: Annotated[Path | None, typer.Option(help="Independent labelled file to score.")] = None,
        eval_text_col: Annotated[
            list[str] | None, typer.Option(help="Text column(s) of --eval-data.")
        ] = None,
        eval_label_col: Annotated[str | None, typer.Option(help="Label column of --eval-data.")] = None,
        holdout: Annotated[float, typer.Option(help="Stratified held-out fraction for metrics.")] = 0.1,
        seed: Annotated[int, typer.Option(help="Random seed of the split and the SVM.")] = 0,
    ) -> None:
        """Train the category classifier, print metrics, save the bundle and its model card.

        Metrics come from a stratified held-out split; the saved model is then refit on all rows.
        """
        from training.train import TrainOptions, run_training

        opts = TrainOptions(
            data=data,
            text_cols=text_col,
            label_col=label_col,
            out=out,
            department_col=department_col,
            eval_data=eval_data,
            eval_text_cols=eval_text_col or None,
            eval_label_col=eval_label_col,
            holdout=holdout,
            seed=seed,
            params={"random_state": seed},
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
        label_col: Annotated[str, typer.Option(help="Category label column.")],
        department_col: Annotated[str | None, typer.Option(help="Also score the department model.")] = None,
        json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    ) -> None:
        """Score a saved model on a labelled file: accuracy, macro-F1 and per-class figures."""
        from training.evaluate import evaluate_file, format_metrics

        try:
            result = evaluate_file(model, data, text_col, label_col, department_column=department_col)
        except TriageError as exc:
            raise fail(str(exc)) from None
        for line in result["skipped"]:
            typer.echo(f"warning: {Path(data).name}: {line}", err=True)
        if json_output:
            print_json(result)
            return
        typer.echo(format_metrics(result, f"model {result['model_version']} on {Path(data).name}"))
        if result.get("department"):
            typer.echo(format_metrics(result["department"], "department model"))
