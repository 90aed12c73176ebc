"""Migrations from an empty database to head (and back) on SQLite and PostgreSQL; the db CLI."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest
import sqlalchemy as sa
import typer
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from triage.config import Settings
from triage.store import fulltext_schema
from triage.store.db import Database
from triage.store.models import metadata

TABLES = {t.name for t in metadata.sorted_tables}


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
    """Tables of the schema, without SQLite's FTS5 search table of u002 (not a model: see fulltext)."""
    names = set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}
    return {n for n in names if not fulltext_schema.is_fulltext_table(n)}


def test_empty_to_head_and_back(empty_url: str) -> None:
    db = Database(empty_url)
    try:
        assert db.current() is None and _tables(db) == set()
        db.upgrade()
        assert db.current() == db.head() and _tables(db) >= TABLES
        indexes = {ix["name"] for ix in sa.inspect(db.engine).get_indexes("cases")}
        assert {"ix_cases_queue", "ix_cases_overdue", "ix_cases_department_ledger"} <= indexes
        db.ensure_schema()  # at head: no error
        db.downgrade("base")
        assert db.current() is None and _tables(db) == set()
        db.ensure_schema(upgrade=True)
        assert db.current() == db.head()
    finally:
        db.dispose()


def test_models_match_migrations(empty_url: str) -> None:
    """Autogenerate against head proposes nothing: every table belongs to triage.store.models and the
    migrations and the models describe the same schema (no table to add or drop, no column, index,
    constraint or type that differs)."""
    db = Database(empty_url)
    try:
        db.upgrade()
        assert _tables(db) == set(metadata.tables)  # the batch tables too (b001, r004)
        with db.engine.connect() as conn:
            opts = {"compare_type": True, "include_object": fulltext_schema.include_object}  # as env.py
            context = MigrationContext.configure(conn, opts=opts)
            diff = compare_metadata(context, metadata)
        assert diff == []
    finally:
        db.dispose()


def test_migrations_are_logged(tmp_path, caplog) -> None:
    caplog.set_level(logging.INFO, logger="triage.store.db")
    db = Database(f"sqlite:///{tmp_path / 'logged.db'}")
    try:
        db.upgrade()
        db.upgrade()  # already at head: nothing to say
        db.downgrade("base")
    finally:
        db.dispose()
    lines = [r.getMessage() for r in caplog.records if r.name == "triage.store.db"]
    where = f"sqlite:///{tmp_path / 'logged.db'}"
    assert lines == [
        f"upgraded database {where} from nothing to {db.head()}",
        f"downgraded database {where} from {db.head()} to nothing",
    ]


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


def test_store_settings_come_from_the_environment(tmp_path, monkeypatch) -> None:
    """TRIAGE_SQLITE_SYNCHRONOUS and TRIAGE_AUTO_MIGRATE are Settings fields, not silently ignored."""
    assert Settings().auto_migrate is True and Settings().sqlite_synchronous == "FULL"
    monkeypatch.setenv("TRIAGE_SQLITE_SYNCHRONOUS", "normal")
    monkeypatch.setenv("TRIAGE_AUTO_MIGRATE", "false")
    settings = Settings()
    assert settings.sqlite_synchronous == "NORMAL" and settings.auto_migrate is False
    db = Database(f"sqlite:///{tmp_path / 'normal.db'}", settings=settings)
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    db.dispose()


def test_service_start_honours_auto_migrate_off(tmp_path, monkeypatch, store_triager) -> None:
    """With TRIAGE_AUTO_MIGRATE=false the service refuses an old schema instead of migrating it."""
    from fastapi.testclient import TestClient

    from api.main import create_app
    from triage.errors import ConfigError

    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    monkeypatch.setenv("TRIAGE_DATABASE_URL", url)
    monkeypatch.setenv("TRIAGE_AUTO_MIGRATE", "false")
    with (
        pytest.raises(ConfigError, match="triage db upgrade"),
        TestClient(create_app(Settings(), triager=store_triager)),
    ):
        pass
    db = Database(url)
    assert db.current() is None
    db.dispose()


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
