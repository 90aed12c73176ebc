"""``triage serve`` and ``triage users …`` (registered through the ``triage.commands`` entry points)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from triage.errors import TriageError


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def _prepare_database():  # type: ignore[no-untyped-def]
    """Create the database, apply migrations and load the departments from the routing file."""
    from triage.config import get_settings
    from triage.route.router import Router
    from triage.store.catalog import Catalog
    from triage.store.db import Database
    from triage.store.registry import sync_departments

    settings = get_settings()
    db = Database(settings=settings)
    db.ensure_schema(upgrade=True)
    sync_departments(db, Catalog(Router.load(settings.routing_path)), profile=settings.profile)
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


def _when(value: datetime | None) -> str:
    """A timestamp in local time for the tables below ("-" for never)."""
    from triage.config import LOCAL_TZ

    return value.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M") if value is not None else "-"


def _accounts(action, *args, **kwargs):  # type: ignore[no-untyped-def]
    """Run one api.accounts function on the configured database; bad input exits 2."""
    try:
        db = _prepare_database()
        try:
            return action(db, *args, **kwargs)
        finally:
            db.dispose()
    except TriageError as exc:
        raise _fail(str(exc)) from None


@users_app.command("list")
def users_list(
    role: Annotated[str | None, typer.Option(help="Only this role.")] = None,
    disabled: Annotated[bool, typer.Option("--disabled", help="Only disabled users.")] = False,
) -> None:
    """List users: role, scope, status, last login, live tokens and their last use, sessions."""
    from api.accounts import list_users

    users = _accounts(list_users, role=role, active=False if disabled else None)
    typer.echo("name\trole\tscope\tstatus\tlast_login\ttokens\ttoken_last_used\tsessions")
    for u in users:
        scope = u.department_code or ",".join(u.grids) or "-"
        status = "active" if u.active else "disabled"
        typer.echo(
            f"{u.username}\t{u.role}\t{scope}\t{status}\t{_when(u.last_login_at)}\t{u.live_tokens}\t"
            f"{_when(u.token_last_used_at)}\t{u.live_sessions}"
        )


@users_app.command("role")
def users_role(
    name: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[
        str, typer.Option(help="operator | grid_worker | reviewer | department | deputy | admin")
    ],
    department: Annotated[str | None, typer.Option(help="Department code (role department).")] = None,
    grid: Annotated[list[str] | None, typer.Option(help="Grid code; repeat for several grids.")] = None,
) -> None:
    """Give a user another role and scope (replacing their grids); their sessions end."""
    from api.accounts import set_role

    _accounts(set_role, name, role, department_code=department, grids=grid or ())
    typer.echo(f"{name} is now {role}; sessions ended", err=True)


@users_app.command("disable")
def users_disable(name: Annotated[str, typer.Argument(help="Login name.")]) -> None:
    """Disable a user: their browser sessions and API tokens stop at once (reversible)."""
    from api.accounts import set_active

    _accounts(set_active, name, False)
    typer.echo(f"disabled {name}; sessions ended, tokens refused", err=True)


@users_app.command("enable")
def users_enable(name: Annotated[str, typer.Argument(help="Login name.")]) -> None:
    """Enable a disabled user again (their unrevoked tokens work again; they log in anew)."""
    from api.accounts import set_active

    _accounts(set_active, name, True)
    typer.echo(f"enabled {name}", err=True)


@users_app.command("passwd")
def users_passwd(
    name: Annotated[str, typer.Argument(help="Login name.")],
    password: Annotated[
        str | None, typer.Option(help="New password (asked for, hidden, when not given).")
    ] = None,
) -> None:
    """Set a user's web login password; every browser session of the user ends."""
    from api.accounts import set_password
    from triage.config import get_settings

    if password is None:
        password = typer.prompt("new password", hide_input=True, confirmation_prompt=True)
    _accounts(set_password, name, password, min_length=get_settings().password_min_length)
    typer.echo(f"password of {name} changed; their sessions ended", err=True)


@users_app.command("tokens")
def users_tokens(name: Annotated[str, typer.Argument(help="Login name.")]) -> None:
    """List a user's API tokens (id, name, created, last used, status); never the token itself."""
    from datetime import UTC, datetime

    from api.accounts import list_tokens

    now = datetime.now(UTC)
    typer.echo("id\tname\tcreated\tlast_used\tstatus")
    for t in _accounts(list_tokens, name):
        status = "live" if t.live(now) else ("revoked" if t.revoked_at else "expired")
        typer.echo(f"{t.id}\t{t.name or '-'}\t{_when(t.created_at)}\t{_when(t.last_used_at)}\t{status}")


@users_app.command("revoke-token")
def users_revoke_token(
    token_id: Annotated[int, typer.Argument(help="Token id, from `triage users tokens NAME`.")],
    user: Annotated[str | None, typer.Option(help="Refuse unless the token belongs to this user.")] = None,
) -> None:
    """Revoke one API token; it is refused at once by every worker."""
    from api.accounts import revoke_token

    info = _accounts(revoke_token, token_id, username=user)
    typer.echo(f"revoked token {info.id} ({info.name or 'unnamed'})", err=True)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.add_typer(users_app, name="users")
