"""Options and helpers shared by the ``triage`` command modules, each defined once.

A command declares ``database_url: DatabaseUrl = None`` and typer takes the flag, its type and its
help from the alias. Defaults stay on the parameters (typer takes none inside ``Annotated``); the
batch ones come from the job options' constants (``DEFAULT_CHUNK_SIZE``). Options whose help says
something particular to one command (``--errors``, ``--since``, ``--id-col`` …) stay with it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from triage.store.db import Database

# -- the database and the model -------------------------------------------------------------------
DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url", help="Database URL (default: TRIAGE_DATABASE_URL or sqlite:///triage.db)."
    ),
]
ModelDir = Annotated[
    Path | None, typer.Option("--model", help="Model directory (default: the shipped model).")
]
RoutingFile = Annotated[Path | None, typer.Option("--routing", help="Routing configuration file.")]
TriagerFactory = Annotated[
    str | None,
    typer.Option("--triager-factory", hidden=True, help="module:callable building a custom triager."),
]

# -- how a batch job runs ---------------------------------------------------------------------------
Workers = Annotated[
    int, typer.Option("--workers", "-w", help="Worker processes (each loads the model once).")
]
ChunkSize = Annotated[int, typer.Option("--chunk-size", help="Records per chunk (one checkpoint per chunk).")]
Resume = Annotated[
    bool, typer.Option("--resume", help="Continue an interrupted run from its last checkpoint.")
]
EngineName = Annotated[
    str, typer.Option("--engine", help="local (process pool) or dask (distributed cluster).")
]
Scheduler = Annotated[
    str | None, typer.Option("--scheduler", help="Dask scheduler address, e.g. tcp://host:8786.")
]
TextCols = Annotated[
    list[str], typer.Option("--text-col", help="Text column; repeat to join several in order.")
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]
SummaryJson = Annotated[bool, typer.Option("--json", help="Print the summary as one JSON object.")]

# -- profiles and the model registry ------------------------------------------------------------------
ProfileName = Annotated[
    str | None, typer.Option("--profile", help="City profile (default: TRIAGE_PROFILE, else tipdm).")
]
ProfilesDir = Annotated[
    Path | None, typer.Option("--profiles-dir", help="Where profiles live (default: TRIAGE_PROFILES_DIR).")
]
Actor = Annotated[str | None, typer.Option("--actor", help="Who does this (default: your login name).")]
TableJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def fail(message: str, code: int = 2, *, first_line: bool = False) -> typer.Exit:
    """Print a one-line error to stderr and return the Exit to raise.

    ``first_line``: keep only the first line (driver and migration errors carry the SQL after it).
    """
    if first_line and message.strip():
        message = message.strip().splitlines()[0]
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def open_database(url: str | None, *, at_head: bool = False) -> Database:
    """The database of ``--database-url`` (else the setting); ``at_head``: refuse an old schema."""
    from triage.store.db import Database

    db = Database(url)
    if at_head:
        db.ensure_schema()
    return db
