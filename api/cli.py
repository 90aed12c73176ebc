"""``triage serve`` and ``triage users …`` (registered through the ``triage.commands`` entry points)."""

from __future__ import annotations

from typing import Annotated

import typer

from triage.errors import TriageError


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def _prepare_database():  # type: ignore[no-untyped-def]
    """Create the database, apply migrations and load the departments from the routing file."""
    from triage.config import get_settings
    from triage.routing import Router
    from triage.store.catalog import Catalog
    from triage.store.db import Database
    from triage.store.registry import sync_departments

    settings = get_settings()
    db = Database(settings=settings)
    db.ensure_schema(upgrade=True)
    sync_departments(db, Catalog(Router.load(settings.routing_path)))
    return db


def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes (each loads the model).")] = 1,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Start the HTTP service (creates and migrates the database on first start)."""
    import uvicorn

    try:
        _prepare_database().dispose()  # once, before the workers start, so they never race on it
    except TriageError as exc:
        raise _fail(str(exc)) from None
    except Exception as exc:  # unreachable database server, unwritable file …
        raise _fail(f"cannot prepare the database: {exc}") from None
    uvicorn.run(
        "api.main:create_app", factory=True, host=host, port=port, workers=workers, log_level=log_level
    )


users_app = typer.Typer(help="Accounts and API tokens.", no_args_is_help=True)


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[
        str, typer.Option(help="operator | grid_worker | reviewer | department | deputy | admin")
    ],
    department: Annotated[str | None, typer.Option(help="Department code (role department).")] = None,
    grid: Annotated[list[str] | None, typer.Option(help="Grid code; repeat for several grids.")] = None,
    password: Annotated[str | None, typer.Option(help="Password for the web UI login.")] = None,
    display_name: Annotated[str, typer.Option(help="Name shown in the UI.")] = "",
) -> None:
    """Create a user and print its API token (shown once; only its hash is stored)."""
    from api.security import create_user

    try:
        db = _prepare_database()
        user, token = create_user(
            db, name, role, department_code=department, grids=grid or (), password=password,
            display_name=display_name,
        )  # fmt: skip
        db.dispose()
    except TriageError as exc:
        raise _fail(str(exc)) from None
    scope = []
    if user.department_code:
        scope.append(f"department {user.department_code}")
    if grid:
        scope.append(f"grids {', '.join(grid)}")
    where = f" ({'; '.join(scope)})" if scope else ""
    typer.echo(f"created {user.role} {user.username}{where}; API token (shown once):", err=True)
    typer.echo(token)


@users_app.command("token")
def users_token(name: Annotated[str, typer.Argument(help="Login name.")]) -> None:
    """Issue another API token for an existing user (printed once)."""
    from api.security import new_token_for

    try:
        db = _prepare_database()
        token = new_token_for(db, name)
        db.dispose()
    except TriageError as exc:
        raise _fail(str(exc)) from None
    typer.echo(token)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.add_typer(users_app, name="users")
