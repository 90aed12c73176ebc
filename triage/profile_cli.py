"""``triage profiles list | show | routing`` (registered from triage/cli.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from triage.cli_options import ProfilesDir, fail
from triage.errors import TriageError

profiles_app = typer.Typer(
    help="City profiles: a trained bundle plus its routing file.", no_args_is_help=True
)


def _dir(path: Path | None) -> Path | None:
    from triage.config import get_settings

    return path or get_settings().profiles_dir


def describe(name: str, profiles_dir: Path | None = None) -> dict:
    """What a profile serves: paths, model version, auto-dispatch threshold, departments per level."""
    from collections import Counter

    from triage.classify.bundle import load_bundle
    from triage.classify.dispatch import ThresholdChoice
    from triage.profiles import resolve
    from triage.route.router import Router

    prof = resolve(name, profiles_dir)
    bundle = load_bundle(prof.model_path)
    router = Router.load(prof.routing_path)
    choice = ThresholdChoice.from_metadata(bundle.metadata)
    return prof.to_dict() | {
        "model_version": bundle.model_version,
        "auto_dispatch": choice.to_dict() if choice else None,
        "departments": len(router.departments()),
        "levels": dict(Counter(d.level for d in router.departments())),
        "categories": len(router.categories()),
    }


@profiles_app.command("list")
def list_cmd(profiles_dir: ProfilesDir = None) -> None:
    """Profiles found in the profiles directory; the active one (TRIAGE_PROFILE) is marked."""
    from triage.config import get_settings
    from triage.profiles import default_profiles_dir, list_profiles, resolve

    root = _dir(profiles_dir)
    active = get_settings().profile
    names = list_profiles(root)
    if not names:
        raise fail(f"no profiles in {root or default_profiles_dir()}")
    for name in names:
        try:
            title = resolve(name, root).title
        except TriageError as exc:
            title = f"(broken: {exc})"
        typer.echo(f"{'*' if name == active else ' '} {name:<12} {title}")


@profiles_app.command("show")
def show_cmd(
    name: Annotated[str | None, typer.Argument(help="Profile (default: the active one).")] = None,
    profiles_dir: ProfilesDir = None,
) -> None:
    """Paths, model version, auto-dispatch threshold and department counts of a profile, as JSON."""
    from triage.config import get_settings

    try:
        info = describe(name or get_settings().profile, _dir(profiles_dir))
    except TriageError as exc:
        raise fail(str(exc)) from None
    typer.echo(json.dumps(info, ensure_ascii=False, indent=2))


@profiles_app.command("departments")
def departments_cmd(
    name: Annotated[str | None, typer.Argument(help="Profile (default: the active one).")] = None,
    profiles_dir: ProfilesDir = None,
) -> None:
    """The profile's departments: code (for `triage users add --department`), level and name."""
    from triage.config import get_settings
    from triage.profiles import resolve
    from triage.route.router import Router

    try:
        router = Router.load(resolve(name or get_settings().profile, _dir(profiles_dir)).routing_path)
    except TriageError as exc:
        raise fail(str(exc)) from None
    typer.echo("code\tlevel\tname")
    for d in router.departments():
        typer.echo(f"{d.code}\t{d.level}\t{d.name}")


@profiles_app.command("routing")
def routing_cmd(
    data: Annotated[Path, typer.Option(help="Historical work orders (.csv, .xlsx, .jsonl; any encoding).")],
    department_col: Annotated[str, typer.Option(help="Column naming the unit that handled the order.")],
    label_col: Annotated[str, typer.Option(help="First-level category column.")],
    out: Annotated[Path, typer.Option(help="routing.toml to write (refuses to overwrite without --force).")],
    not_a_department: Annotated[
        list[str] | None, typer.Option(help="Department value that is no department (其他单位); repeatable.")
    ] = None,
    model_threshold: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Department model probability needed to be used.")
    ] = 0.0,
    version: Annotated[str, typer.Option(help="Version string written into the file.")] = "",
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Write a first routing file from history: every unit by name, each category to its usual unit."""
    from triage.route.config import load_config
    from triage.route.from_history import routing_from_history
    from triage.tabular.files import TabularReader

    if out.exists() and not force:
        raise fail(f"{out} exists; pass --force to overwrite it")
    try:
        with TabularReader(data) as reader:
            reader.require([department_col, label_col])
            rows = (r.values for r in reader if r.values is not None)
            text = routing_from_history(
                rows,
                department_col=department_col,
                category_col=label_col,
                not_a_department=not_a_department or [],
                version=version,
                model_threshold=model_threshold,
            )
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n", encoding="utf-8")
        spec = load_config(out).spec  # what we wrote must load
    except TriageError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"wrote {out}: {len(spec.departments)} departments, {len(spec.categories)} categories")


def register(app: typer.Typer) -> None:
    """Add the ``profiles`` group to the triage CLI."""
    app.add_typer(profiles_app, name="profiles")
