"""``triage batch classify|reclassify|import|report|hot-issues`` (registered from triage/cli.py)."""

from __future__ import annotations

import json
import signal
import sys
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from triage.batch.dupes import DEFAULT_MAX_GROUPS
from triage.batch.engine import DEFAULT_CHUNK_SIZE
from triage.cli_options import (
    ChunkSize,
    DatabaseUrl,
    EngineName,
    ModelDir,
    Quiet,
    Resume,
    RoutingFile,
    Scheduler,
    SummaryJson,
    TextCols,
    TriagerFactory,
    Workers,
    fail,
    open_database,
)
from triage.config import get_settings
from triage.dedup.hot_issues import DEFAULT_THRESHOLD, MATTER_THRESHOLD
from triage.errors import TriageError
from triage.text.masking import mask_pii

batch_app = typer.Typer(
    help="Batch jobs: classify files, reclassify and import cases, reports.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(batch_app, name="batch")


def _field_cols(values: list[str]) -> dict[str, str]:
    """``--field-col COLUMN[=FIELD]`` values as {column: field}."""
    out: dict[str, str] = {}
    for value in values:
        column, _, name = value.partition("=")
        column, name = column.strip(), (name.strip() if name else column.strip())
        if not column or not name:
            raise fail(f"--field-col {value!r}: expected COLUMN or COLUMN=FIELD, e.g. 辖区=district")
        out[column] = name
    return out


def _date(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    from triage.config import LOCAL_TZ
    from triage.tabular.files import parse_datetime

    parsed = parse_datetime(value)
    if parsed is None:
        raise fail(f"{name} must be a date like 2026-01-31, got {value!r}")
    return parsed.replace(tzinfo=LOCAL_TZ) if parsed.tzinfo is None else parsed


@contextmanager
def _terminate_as_interrupt():
    """SIGTERM stops a job like Ctrl-C: after the current chunk's checkpoint."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run(label: str, runner: Any, options: Any, quiet: bool, as_json: bool) -> None:
    from triage.batch.progress import RichProgress

    try:
        with _terminate_as_interrupt(), RichProgress(label, disable=quiet or not sys.stderr.isatty()) as bar:
            summary = runner(options, bar)
    except TriageError as exc:
        raise fail(str(exc)) from None
    except BrokenProcessPool:
        raise fail("a worker process died (out of memory?); run the same command with --resume") from None
    if as_json:
        typer.echo(json.dumps(summary.to_dict(), ensure_ascii=False, default=str))
    else:
        for line in summary.lines():
            typer.echo(line, err=True)
    if summary.interrupted:
        raise typer.Exit(130)


@batch_app.command("classify")
def classify_cmd(
    input: Annotated[Path, typer.Option("--input", "-i", help="CSV, XLSX or JSONL file.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output file; its suffix picks the format.")],
    text_col: TextCols,
    id_col: Annotated[
        str | None, typer.Option("--id-col", help="Row id column (default: row number).")
    ] = None,
    field_col: Annotated[
        list[str],
        typer.Option(
            "--field-col",
            help="Case field for department routing: COLUMN=FIELD (辖区=district, 镇街=street, "
            "村居=community, 地址=address) or a column the profile was trained with (辖区); repeatable.",
        ),
    ] = [],  # noqa: B006
    errors: Annotated[
        Path | None, typer.Option("--errors", help="Bad rows CSV (default: OUTPUT.errors.csv).")
    ] = None,
    workers: Workers = 1,
    chunk_size: ChunkSize = DEFAULT_CHUNK_SIZE,
    resume: Resume = False,
    engine: EngineName = "local",
    scheduler: Scheduler = None,
    model: ModelDir = None,
    routing: RoutingFile = None,
    factory: TriagerFactory = None,
    dedup: Annotated[bool, typer.Option("--dedup/--no-dedup", help="Group near-duplicate rows.")] = True,
    dedup_threshold: Annotated[float | None, typer.Option(help="Similarity for duplicate groups.")] = None,
    dedup_window: Annotated[
        int, typer.Option(help="Distinct groups remembered for duplicate matching (bounds memory).")
    ] = DEFAULT_MAX_GROUPS,
    encoding: Annotated[str | None, typer.Option(help="Input encoding (default: detected).")] = None,
    sheet: Annotated[str | None, typer.Option(help="XLSX sheet (default: the first).")] = None,
    quiet: Quiet = False,
    as_json: SummaryJson = False,
) -> None:
    """Triage every row of a file: input columns + category, confidence, top-2, department, level,
    needs_review and duplicate group, in input order."""
    from triage.batch import run_classify
    from triage.batch.classify import ClassifyOptions

    opts = ClassifyOptions(
        input=input, output=output, text_cols=text_col, id_col=id_col, errors=errors, workers=workers,
        field_cols=_field_cols(field_col),
        chunk_size=chunk_size, resume=resume, engine=engine, scheduler=scheduler, model_path=model,
        routing_path=routing,
        triager_factory=factory, dedup=dedup, dedup_threshold=dedup_threshold, dedup_window=dedup_window,
        encoding=encoding, sheet=sheet,
    )  # fmt: skip
    _run("classify", run_classify, opts, quiet, as_json)


@batch_app.command("reclassify")
def reclassify_cmd(
    status: Annotated[
        list[str], typer.Option("--status", help="Only cases in this status (repeatable).")
    ] = [],  # noqa: B006
    since: Annotated[str | None, typer.Option(help="Only cases created on or after this date.")] = None,
    until: Annotated[str | None, typer.Option(help="Only cases created before this date.")] = None,
    workers: Workers = 1,
    chunk_size: ChunkSize = DEFAULT_CHUNK_SIZE,
    resume: Resume = False,
    engine: EngineName = "local",
    scheduler: Scheduler = None,
    model: ModelDir = None,
    routing: RoutingFile = None,
    factory: TriagerFactory = None,
    job: Annotated[str | None, typer.Option("--job", help="Job id (to resume a specific job).")] = None,
    errors: Annotated[
        Path | None, typer.Option("--errors", help="CSV of cases that could not be triaged.")
    ] = None,
    database_url: DatabaseUrl = None,
    quiet: Quiet = False,
    as_json: SummaryJson = False,
) -> None:
    """Re-run the model over stored cases; keeps old and new suggestions, never touches human decisions,
    flags reviewed cases that now disagree."""
    from triage.batch import run_reclassify
    from triage.batch.reclassify import ReclassifyOptions

    opts = ReclassifyOptions(
        database_url=database_url, statuses=list(status), since=_date(since, "--since"),
        until=_date(until, "--until"), workers=workers, chunk_size=chunk_size, resume=resume, engine=engine,
        scheduler=scheduler, model_path=model, routing_path=routing,
        triager_factory=factory, job_id=job, errors=errors,
    )  # fmt: skip
    _run("reclassify", run_reclassify, opts, quiet, as_json)


@batch_app.command("import")
def import_cmd(
    input: Annotated[
        Path, typer.Option("--input", "-i", help="CSV, XLSX or JSONL file of historical records.")
    ],
    text_col: TextCols,
    title_col: Annotated[str | None, typer.Option(help="Title column (stored as the case title).")] = None,
    id_col: Annotated[str | None, typer.Option(help="External id column (makes re-runs idempotent).")] = None,
    time_col: Annotated[str | None, typer.Option(help="Creation time column.")] = None,
    label_col: Annotated[str | None, typer.Option(help="Historical category (becomes the decision).")] = None,
    subcategory_col: Annotated[str | None, typer.Option(help="Historical sub-category.")] = None,
    department_col: Annotated[str | None, typer.Option(help="Historical department.")] = None,
    status_col: Annotated[str | None, typer.Option(help="Historical state (办结, closed, …).")] = None,
    result_col: Annotated[str | None, typer.Option(help="Handling result / reply text.")] = None,
    source: Annotated[str, typer.Option(help="Case source (hotline, grid, web, batch …).")] = "batch",
    source_name: Annotated[
        str | None, typer.Option(help="Prefix of the import keys (default: file stem).")
    ] = None,
    default_status: Annotated[str | None, typer.Option(help="Status when there is no state column.")] = None,
    workers: Workers = 1,
    chunk_size: ChunkSize = DEFAULT_CHUNK_SIZE,
    resume: Resume = False,
    engine: EngineName = "local",
    scheduler: Scheduler = None,
    model: ModelDir = None,
    routing: RoutingFile = None,
    factory: TriagerFactory = None,
    errors: Annotated[
        Path | None,
        typer.Option(
            "--errors",
            help="Bad rows CSV, replaced if it exists (default: <job id>.import-errors.csv in jobs_dir, "
            "written only when a row failed).",
        ),
    ] = None,
    dedup: Annotated[bool, typer.Option("--dedup/--no-dedup", help="Mark near-duplicates.")] = True,
    database_url: DatabaseUrl = None,
    quiet: Quiet = False,
    as_json: SummaryJson = False,
) -> None:
    """Load historical records as cases, with their labels and states; re-running adds nothing twice."""
    from triage.batch import run_import
    from triage.batch.importer import ImportOptions

    opts = ImportOptions(
        input=input, text_cols=text_col, title_col=title_col, id_col=id_col, time_col=time_col,
        label_col=label_col, subcategory_col=subcategory_col, department_col=department_col,
        status_col=status_col, result_col=result_col, source=source, source_name=source_name,
        default_status=default_status, database_url=database_url, workers=workers, chunk_size=chunk_size,
        resume=resume, engine=engine, scheduler=scheduler, model_path=model, routing_path=routing,
        triager_factory=factory,
        errors=errors, dedup=dedup, output_dir=get_settings().jobs_dir,
    )  # fmt: skip
    _run("import", run_import, opts, quiet, as_json)


@batch_app.command("report")
def report_cmd(
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="HTML file to write (default: reclassify-<job>.html in jobs_dir)."
        ),
    ] = None,
    job: Annotated[str | None, typer.Option("--job", help="Reclassify job id (default: the latest).")] = None,
    csv_path: Annotated[
        Path | None, typer.Option("--csv", help="CSV of changed cases (default: OUTPUT.csv).")
    ] = None,
    link_base: Annotated[
        str | None,
        typer.Option(help="Case links are LINK_BASE + case number (default: TRIAGE_PUBLIC_URL/cases/)."),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Change report of a reclassify run: old → new counts, chart, changed cases with links."""
    from triage.batch.report import build_change_report

    try:
        db = open_database(database_url, at_head=True)
        rep = build_change_report(db, output, job_id=job, csv_path=csv_path, link_base=link_base)
    except TriageError as exc:
        raise fail(str(exc)) from None
    typer.echo(
        f"job {rep.job_id}: {rep.total} cases, {rep.changed} changed, {rep.flagged} flagged for re-review",
        err=True,
    )
    for role, path in rep.outputs.items():
        typer.echo(f"{role}: {path}", err=True)


@batch_app.command("hot-issues")
def hot_issues_cmd(
    input: Annotated[
        Path | None, typer.Option("--input", "-i", help="File of records (default: the case DB).")
    ] = None,
    text_col: Annotated[list[str], typer.Option("--text-col", help="Text column(s) of the file.")] = [],  # noqa: B006
    title_col: Annotated[str | None, typer.Option(help="Title column.")] = None,
    id_col: Annotated[str | None, typer.Option(help="Id column.")] = None,
    time_col: Annotated[str | None, typer.Option(help="Time column.")] = None,
    likes_col: Annotated[str | None, typer.Option(help="Likes / support column.")] = None,
    category_col: Annotated[str | None, typer.Option(help="Category column.")] = None,
    since: Annotated[str | None, typer.Option(help="Only records on or after this date.")] = None,
    until: Annotated[str | None, typer.Option(help="Only records before this date.")] = None,
    threshold: Annotated[
        float | None,
        typer.Option(help="Score that links two records (default: 0.8 same-matter, 0.4 lexical)."),
    ] = None,
    matcher: Annotated[
        str, typer.Option(help="matter: same matter in other words; lexical: copies only.")
    ] = "matter",
    min_size: Annotated[int, typer.Option(help="Smallest cluster reported.")] = 2,
    growth_days: Annotated[int, typer.Option(help="Window (days) for the growth figure.")] = 7,
    top: Annotated[int | None, typer.Option(help="Report only the TOP issues.")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="CSV to write.")] = None,
    html: Annotated[Path | None, typer.Option("--html", help="HTML page to write.")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Cluster similar records into ranked hot issues (size, growth, likes) with a representative title."""
    from triage.batch.hot import records_from_db, records_from_file, write_hot_issues
    from triage.dedup.hot_issues import cluster_hot_issues

    start, end = _date(since, "--since"), _date(until, "--until")
    try:
        if input is not None:
            if not text_col:
                raise fail("--text-col is required with --input")
            records = list(
                records_from_file(
                    input,
                    text_cols=text_col,
                    id_col=id_col,
                    title_col=title_col,
                    time_col=time_col,
                    likes_col=likes_col,
                    category_col=category_col,
                )  # fmt: skip
            )
        else:
            records = list(records_from_db(database_url, since=start))
        default_threshold = DEFAULT_THRESHOLD if matcher == "lexical" else MATTER_THRESHOLD
        issues = cluster_hot_issues(
            records,
            since=start,
            until=end,
            threshold=threshold,
            min_size=min_size,
            growth_days=growth_days,
            top=top,
            matcher=matcher,
        )
        outputs = write_hot_issues(
            issues, csv_path=output, html_path=html, n_records=len(records), since=start,
            threshold=threshold if threshold is not None else default_threshold,
            growth_days=growth_days,
        )  # fmt: skip
    except TriageError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"{len(records)} records → {len(issues)} hot issues", err=True)
    if not outputs:  # nothing asked for: the ranking goes to stdout, no file is left behind
        typer.echo("rank\tsize\trecent\ttitle\tplace")
        for h in issues:
            typer.echo(f"{h.rank}\t{h.size}\t{h.recent}\t{mask_pii(h.title)}\t{h.place or ''}")
        return
    for h in issues[:10]:
        typer.echo(
            f"{h.rank:>3}. [{h.size}] {mask_pii(h.title)}" + (f"（{h.place}）" if h.place else ""), err=True
        )
    for role, path in outputs.items():
        typer.echo(f"{role}: {path}", err=True)
