"""``triage db upgrade|current``, ``triage grids list|import`` and ``triage export-training``
(registered from triage/cli.py)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from triage.cli_options import DatabaseUrl, fail, open_database
from triage.errors import TriageError

db_app = typer.Typer(help="Case database: schema migrations.", no_args_is_help=True)


@db_app.command("upgrade")
def upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
    database_url: DatabaseUrl = None,
) -> None:
    """Apply migrations up to REVISION (default: the latest)."""
    try:
        db = open_database(database_url)
        db.upgrade(revision)
        typer.echo(f"database at {db.current()} ({db.dialect})")
    except TriageError as exc:
        raise fail(str(exc), first_line=True) from None
    except Exception as exc:  # connection refused, bad file path …
        raise fail(f"cannot migrate the database: {exc}", first_line=True) from None


@db_app.command("current")
def current(database_url: DatabaseUrl = None) -> None:
    """Print the applied revision and the latest one."""
    try:
        db = open_database(database_url)
        now, head = db.current(), db.head()
    except TriageError as exc:
        raise fail(str(exc), first_line=True) from None
    except Exception as exc:
        raise fail(f"cannot read the database: {exc}", first_line=True) from None
    state = "up to date" if now == head else "needs `triage db upgrade`"
    typer.echo(f"current: {now or 'none'}  head: {head}  ({state})")


def export_training(
    out: Annotated[Path, typer.Option("--out", help="CSV file to write (text,label,department,…).")],
    since: Annotated[
        str | None, typer.Option("--since", help="Only cases reviewed on or after this date (YYYY-MM-DD).")
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Write reviewed cases with their final labels for `triage train`."""
    from triage.store.export import export_training as run

    try:
        day = date.fromisoformat(since) if since else None
    except ValueError:
        raise fail(f"--since must be a date like 2026-01-31, got {since!r}", first_line=True) from None
    try:
        db = open_database(database_url, at_head=True)
        n = run(db, out, since=day)
    except TriageError as exc:
        raise fail(str(exc), first_line=True) from None
    typer.echo(f"wrote {n} reviewed cases to {out}")


grids_app = typer.Typer(help="The city's grid registry (网格台账).", no_args_is_help=True)


@grids_app.command("list")
def grids_list(database_url: DatabaseUrl = None) -> None:
    """Every grid: code, name, community, street and how many users work in it."""
    from triage.store.grid_registry import list_grids

    try:
        grids = list_grids(open_database(database_url, at_head=True))
    except TriageError as exc:
        raise fail(str(exc), first_line=True) from None
    typer.echo("code\tname\tcommunity\tstreet\tmembers")
    for g in grids:
        typer.echo(f"{g.code}\t{g.name}\t{g.community or '-'}\t{g.street or '-'}\t{g.members}")


@grids_app.command("import")
def grids_import(
    path: Annotated[
        Path, typer.Argument(help="CSV (UTF-8/GBK/GB18030) or XLSX: 网格编号, 网格名称, 社区, 街道.")
    ],
    database_url: DatabaseUrl = None,
) -> None:
    """Create or update grids from the city's registry file; bad rows are listed, the rest load."""
    from triage.store.grid_registry import import_grids

    try:
        report = import_grids(open_database(database_url, at_head=True), path)
    except TriageError as exc:
        raise fail(str(exc), first_line=True) from None
    for e in report.errors:
        typer.echo(f"row {e.row}: {e.field}: {e.message}", err=True)
    typer.echo(
        f"created {report.created}, updated {report.updated}, unchanged {report.unchanged}, "
        f"failed {len(report.errors)}"
    )
    if report.errors:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add the ``db`` and ``grids`` groups and ``export-training`` to the triage CLI."""
    app.add_typer(db_app, name="db")
    app.add_typer(grids_app, name="grids")
    app.command("export-training")(export_training)
