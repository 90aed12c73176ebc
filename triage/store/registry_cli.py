"""``triage models list | register | shadow | promote | rollback | compare`` (registered from triage/cli.py).

The profile is ``--profile`` or ``TRIAGE_PROFILE``; the actor recorded for promotions is
``--actor`` or the login name of whoever runs the command.
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from triage.cli_options import Actor, DatabaseUrl, ProfileName, TableJson, fail, open_database
from triage.errors import TriageError

if TYPE_CHECKING:
    from triage.store.db import Database

models_app = typer.Typer(
    help="Model registry of a city profile: register, shadow, promote, rollback, compare.",
    no_args_is_help=True,
)


def _profile(name: str | None) -> str:
    from triage.config import get_settings

    return name or get_settings().profile


def _actor(name: str | None) -> str:
    if name:
        return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return "cli"


def _db(url: str | None) -> Database:
    """The registry's tables are in the case database, which must be at the latest schema."""
    return open_database(url, at_head=True)


def _row(m) -> dict:  # type: ignore[no-untyped-def]
    return {
        "profile": m.profile,
        "version": m.version,
        "status": m.status,
        "path": m.path,
        "data_fingerprint": m.data_fingerprint,
        "registered_by": m.registered_by,
        "registered_at": m.registered_at.isoformat(timespec="seconds"),
        "promoted_by": m.promoted_by,
        "promoted_at": m.promoted_at.isoformat(timespec="seconds") if m.promoted_at else None,
        "shadow_since": m.shadow_since.isoformat(timespec="seconds") if m.shadow_since else None,
        "metrics": m.metrics or {},
    }


def _headline(metrics: dict) -> str:
    """The figures worth a column: department accuracy and auto-dispatch coverage where known."""
    parts = []
    for key in ("holdout", "eval", "test"):
        block = metrics.get(key)
        if isinstance(block, dict) and "macro_f1" in block:
            parts.append(f"{key} F1 {block['macro_f1']:.3f}")
            break
    dept = metrics.get("department_holdout")
    if isinstance(dept, dict) and "accuracy" in dept:
        parts.append(f"dept {dept['accuracy']:.3f}")
    auto = metrics.get("auto_dispatch")
    if isinstance(auto, dict) and "coverage" in auto:
        parts.append(f"auto {auto['coverage']:.2f}@{auto.get('threshold', 0):.2f}")
    return ", ".join(parts)


@models_app.command("list")
def list_cmd(
    profile: ProfileName = None, as_json: TableJson = False, database_url: DatabaseUrl = None
) -> None:
    """Registered bundles of the profile, oldest first, with their status and who promoted them."""
    from triage.store.model_registry import list_models

    try:
        rows = [_row(m) for m in list_models(_db(database_url), _profile(profile))]
    except TriageError as exc:
        raise fail(str(exc), first_line=True) from None
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        typer.echo(f"no models registered for profile {_profile(profile)!r} (`triage models register DIR`)")
        return
    for r in rows:
        promoted = f"promoted by {r['promoted_by']} {r['promoted_at']}" if r["promoted_by"] else ""
        data = (r["data_fingerprint"] or "")[:12] or "—"
        figures = _headline(r["metrics"])
        typer.echo(f"{r['status']:<9} {r['version']:<18} data {data:<12} {figures:<40} {promoted}")


@models_app.command("register")
def register_cmd(
    path: Annotated[Path, typer.Argument(help="Bundle directory (holds model.joblib).")],
    profile: ProfileName = None,
    actor: Actor = None,
    shadow: Annotated[bool, typer.Option("--shadow", help="Also start running it in shadow.")] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Add a trained bundle to the registry as a candidate (its metrics and data fingerprint are kept)."""
    from triage.store.model_registry import register, start_shadow

    try:
        db, name, who = _db(database_url), _profile(profile), _actor(actor)
        row = register(db, path, profile=name, actor=who)
        if shadow:
            row = start_shadow(db, name, row.version, actor=who)
    except TriageError as exc:
        raise fail(str(exc), first_line=True) from None
    typer.echo(f"registered {row.version} for profile {name!r} as {row.status}")


@models_app.command("shadow")
def shadow_cmd(
    version: Annotated[str, typer.Argument(help="Registered model version (cat-…).")],
    profile: ProfileName = None,
    actor: Actor = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Run a candidate in shadow: its suggestions are stored beside the live ones (from the next start)."""
    from triage.store.model_registry import start_shadow

    try:
        row = start_shadow(_db(database_url), _profile(profile), version, actor=_actor(actor))
    except TriageError as exc:
        raise fail(str(exc), first_line=True) from None
    typer.echo(f"{row.version} runs in shadow since {row.shadow_since:%Y-%m-%d %H:%M} (restart the service)")


@models_app.command("promote")
def promote_cmd(
    version: Annotated[str, typer.Argument(help="Registered model version (cat-…).")],
    profile: ProfileName = None,
    actor: Actor = None,
    note: Annotated[str | None, typer.Option("--note", help="Why (kept in the registry history).")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Make a registered bundle the live model of the profile (the service loads it on its next start)."""
    from triage.store.model_registry import promote

    try:
        row = promote(_db(database_url), _profile(profile), version, actor=_actor(actor), note=note)
    except TriageError as exc:
        raise fail(str(exc), first_line=True) from None
    typer.echo(f"{row.version} is live for profile {row.profile!r} (promoted by {row.promoted_by})")


@models_app.command("rollback")
def rollback_cmd(
    profile: ProfileName = None,
    actor: Actor = None,
    note: Annotated[str | None, typer.Option("--note", help="Why (kept in the registry history).")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Put back the model that was live before the current one."""
    from triage.store.model_registry import rollback

    try:
        row = rollback(_db(database_url), _profile(profile), actor=_actor(actor), note=note)
    except TriageError as exc:
        raise fail(str(exc), first_line=True) from None
    typer.echo(f"rolled back: {row.version} is live again for profile {row.profile!r}")


@models_app.command("compare")
def compare_cmd(
    version: Annotated[
        str | None, typer.Argument(help="Candidate version (default: the model in shadow).")
    ] = None,
    profile: ProfileName = None,
    as_json: TableJson = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Agreement of candidate and live suggestions, and both accuracies against reviewers' decisions."""
    from triage.store.model_registry import compare

    try:
        report = compare(_db(database_url), _profile(profile), version)
    except TriageError as exc:
        raise fail(str(exc), first_line=True) from None
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return

    def fmt(v: float | None) -> str:
        return "—" if v is None else f"{v:.3f}"

    head = f"candidate {report['candidate']} since {report['since'] or '—'}: {report['n']} reviewed cases"
    skipped = report.get("department_skipped") or 0
    typer.echo(head + (f" ({skipped} routed to catch-all units, left out of department)" if skipped else ""))
    typer.echo(f"{'':<12}{'category':>10}{'department':>12}")
    for label, block in (
        ("agreement", report["agreement"]),
        ("live", {k.split("_")[0]: v for k, v in report["live"].items()}),
        ("candidate", {k.split("_")[0]: v for k, v in report["candidate_scores"].items()}),
    ):
        typer.echo(f"{label:<12}{fmt(block.get('category')):>10}{fmt(block.get('department')):>12}")


def register(app: typer.Typer) -> None:
    """Add the ``models`` group to the triage CLI."""
    app.add_typer(models_app, name="models")
