"""The ``triage`` command. Core commands live in triage/; training/ and api/ add theirs
through the ``triage.commands`` entry-point group, so triage/ never imports them."""

from __future__ import annotations

import json
import sys
from importlib.metadata import entry_points
from typing import Annotated

import typer

from triage.cli_options import ModelDir, fail
from triage.errors import TriageError

app = typer.Typer(
    name="triage",
    help="Petition triage: classify, route and de-duplicate citizen requests.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Petition triage: classify, route and de-duplicate citizen requests."""


def print_json(obj: object) -> None:
    typer.echo(json.dumps(obj, ensure_ascii=False, indent=2, default=str))


@app.command()
def classify(
    text: Annotated[str, typer.Argument(help="Message text, or '-' to read it from stdin.")],
    model: ModelDir = None,
) -> None:
    """Triage one message and print the suggestion as JSON."""
    from triage.pipeline import Triager
    from triage.text.intake import decode_text

    try:
        raw = decode_text(sys.stdin.buffer.read()) if text == "-" else text
        result = Triager.load(model).triage(raw)
    except TriageError as exc:
        raise fail(str(exc)) from None
    print_json(result.to_dict())


# Modules inside triage/ that add command groups (each exposes ``register(app)``).
CORE_COMMAND_MODULES: list[str] = [
    "triage.store.cli",
    "triage.batch.cli",
    "triage.store.registry_cli",
    "triage.profile_cli",
]


def _register_plugins() -> None:
    from importlib import import_module

    for module in CORE_COMMAND_MODULES:
        import_module(module).register(app)
    for ep in entry_points(group="triage.commands"):
        ep.load()(app)


def main() -> None:
    from triage.extras import missing_extra_message

    try:
        _register_plugins()
        app()
    except ModuleNotFoundError as exc:  # a command of an extra that is not installed (triage/extras.py)
        message = missing_extra_message(exc)
        if message is None:
            raise
        raise SystemExit(f"error: {message}") from None


if __name__ == "__main__":
    main()
