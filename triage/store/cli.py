"""``triage db upgrade|current`` and ``triage export-training`` (registered from triage/cli.py)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from triage.errors import TriageError

DbUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url", help="Database URL (default: TRIAGE_DATABASE_URL or sqlite:///triage.db)."
    ),
]


def _database(url: str | None):  # type: ignore[no-untyped-def]
    from triage.store.db import Database

    return Database(url)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message.strip().splitlines()[0] if message.strip() else message}", err=True)
    return typer.Exit(2)


db_app = typer.Typer(help="Case database: schema migrations.", no_args_is_help=True)


@db_app.command("upgrade")
def upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
    database_url: DbUrl = None,
) -> None:
    """Apply migrations up to REVISION (default: the latest)."""
    try:
        db = _database(database_url)
        db.upgrade(revision)
        typer.echo(f"database at {db.current()} ({db.dialect})")
    except TriageError as exc:
        raise _fail(str(exc)) from None
    except Exception as exc:  # connection refused, bad file path …
        raise _fail(f"cannot migrate the database: {exc}") from None


@db_app.command("current")
def current(database_url: DbUrl = None) -> None:
    """Print the applied revision and the latest one."""
    try:
        db = _database(database_url)
        now, head = db.current(), db.head()
    except TriageError as exc:
        raise _fail(str(exc)) from None
    except Exception as exc:
        raise _fail(f"cannot read the database: {exc}") from None
    state = "up to date" if now == head else "needs `triage db upgrade`"
    typer.echo(f"current: {now or 'none'}  head: {head}  ({state})")


def export_training(
    out: Annotated[Path, typer.Option("--out", help="CSV file to write (text,label,department,…).")],
    since: Annotated[
        str | None, typer.Option("--since", help="Only cases reviewed on or after this date (YYYY-MM-DD).")
    ] = None,
    database_url: DbUrl = None,
) -> None:
    """Write reviewed cases with their final labels for `triage train`."""
    from triage.store.export import export_training as run

    try:
        day = date.fromisoformat(since) if since else None
    except ValueError:
        raise _fail(f"--since must be a date like 2026-01-31, got {since!r}") from None
    try:
        db = _database(database_url)
        db.ensure_schema()
        n = run(db, out, since=day)
    except TriageError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"wrote {n} reviewed cases to {out}")


def register(app: typer.Typer) -> None:
    """Add the ``db`` group and ``export-training`` to the triage CLI."""
    app.add_typer(db_app, name="db")
    app.command("export-training")(export_training)
