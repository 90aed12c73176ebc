"""Migrations from an empty database to head (and back) on SQLite and PostgreSQL; the db CLI."""

from __future__ import annotations

import subprocess
import sys

import pytest
import sqlalchemy as sa
import typer
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from triage.store.db import Database
from triage.store.models import metadata

TABLES = {t.name for t in metadata.sorted_tables}


def _ours(obj, name, type_, reflected, compare_to) -> bool:
    """Compare only tables the imported models know (other modules add migrations of their own)."""
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
    return table is None or table in metadata.tables


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request, tmp_path):
    """URL of a database with no tables at all."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    import psycopg

    url = make_url(request.getfixturevalue("pg_url"))
    name = f"{url.database}_mig"
    with psycopg.connect(url.set(drivername="postgresql").render_as_string(False), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
        try:
            yield url.set(database=name).render_as_string(hide_password=False)
        finally:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _tables(db: Database) -> set[str]:
    return set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}


def test_empty_to_head_and_back(empty_url: str) -> None:
    db = Database(empty_url)
    try:
        assert db.current() is None and _tables(db) == set()
        db.upgrade()
        assert db.current() == db.head() and _tables(db) >= TABLES
        with db.engine.connect() as conn:  # the models and the migrations describe the same schema
            opts = {"compare_type": True, "include_object": _ours}
            diff = compare_metadata(MigrationContext.configure(conn, opts=opts), metadata)
        assert diff == []
        indexes = {ix["name"] for ix in sa.inspect(db.engine).get_indexes("cases")}
        assert {"ix_cases_queue", "ix_cases_overdue", "ix_cases_department_created"} <= indexes
        db.ensure_schema()  # at head: no error
        db.downgrade("base")
        assert db.current() is None and _tables(db) == set()
        db.ensure_schema(upgrade=True)
        assert db.current() == db.head()
    finally:
        db.dispose()


def test_out_of_date_schema_is_reported(tmp_path) -> None:
    from triage.errors import ConfigError

    db = Database(f"sqlite:///{tmp_path / 'old.db'}")
    with pytest.raises(ConfigError) as info:
        db.ensure_schema()
    assert info.value.code == "schema_out_of_date" and "triage db upgrade" in info.value.message


def test_sqlite_runs_in_wal_mode(tmp_path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'wal.db'}")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL


def test_db_cli(empty_url: str) -> None:
    from triage.store.cli import register

    app = typer.Typer()
    register(app)
    runner = CliRunner()
    res = runner.invoke(app, ["db", "current", "--database-url", empty_url])
    assert res.exit_code == 0 and "current: none" in res.output
    res = runner.invoke(app, ["db", "upgrade", "--database-url", empty_url])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["db", "current", "--database-url", empty_url])
    assert "up to date" in res.output
    Database(empty_url).engine.dispose()


def test_cli_is_wired_into_triage(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    cmd = [
        sys.executable,
        "-c",
        "from triage.cli import main; main()",
        "db",
        "upgrade",
        "--database-url",
        url,
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "database at" in res.stdout
    bad = subprocess.run(
        cmd[:3] + ["export-training", "--out", str(tmp_path / "x.csv"), "--since", "soon"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and bad.stderr.startswith("error: --since")


def test_concurrent_upgrades_are_serialised(empty_url: str) -> None:
    """Several workers starting at once (separate processes) all migrate without errors."""
    code = "import sys; from triage.store.db import Database; Database(sys.argv[1]).upgrade()"
    procs = [
        subprocess.Popen([sys.executable, "-c", code, empty_url], stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    for p in procs:
        _, err = p.communicate(timeout=180)
        assert p.returncode == 0, err[-2000:]
    db = Database(empty_url)
    assert db.current() == db.head() and _tables(db) >= TABLES
    db.dispose()
