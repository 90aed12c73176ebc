"""Shared pytest fixtures. Storage fixtures (SQLite + PostgreSQL) are added by the store tests."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = (REPO_ROOT / ".." / "shared" / "data" / "tipdm2020").resolve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The tipdm2020 data directory; tests that need it skip only when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


# ---- case store (triage/store): every storage test runs on SQLite and on PostgreSQL ------------------
# PostgreSQL: 127.0.0.1:5432, trust auth, user postgres. Each test session creates its own database
# (triage_test_<random>) through the `test` database and drops it at the end, so sessions sharing the
# server do not meet. With CI=true an unreachable server fails the PostgreSQL tests instead of skipping.
PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
STORE_BACKENDS = ["sqlite", "postgresql"]


def pg_unavailable(reason: str) -> None:
    import os

    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(f"PostgreSQL is required when CI=true but is unreachable: {reason}")
    pytest.skip(f"PostgreSQL not reachable: {reason}")


@pytest.fixture(scope="session")
def pg_url():
    """URL of a fresh, uniquely named PostgreSQL database for this test session."""
    import os
    import uuid

    import psycopg
    from sqlalchemy.engine import make_url

    admin_url = os.environ.get("TRIAGE_TEST_PG_URL", PG_ADMIN_URL)
    try:
        conn = psycopg.connect(admin_url.replace("+psycopg", ""), autocommit=True, connect_timeout=3)
    except psycopg.Error as exc:
        pg_unavailable(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
    name = f"triage_test_{uuid.uuid4().hex[:12]}"
    conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()


@pytest.fixture(scope="session")
def pg_store(pg_url):
    """The session's PostgreSQL database, migrated to head once."""
    from triage.store.db import Database

    db = Database(pg_url)
    db.upgrade()
    yield db
    db.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A migrated SQLite file that each test copies (faster than migrating every time)."""
    from triage.store.db import Database

    path = tmp_path_factory.mktemp("store") / "template.db"
    db = Database(f"sqlite:///{path}")
    db.upgrade()
    with db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.dispose()
    return path


def _truncate_all(db) -> None:
    """Empty every migrated table (whoever's migration made it) except alembic_version."""
    import sqlalchemy as sa

    names = [t for t in sa.inspect(db.engine).get_table_names() if t != "alembic_version"]
    quoted = ", ".join(f'"{n}"' for n in names)
    with db.engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE")


@pytest.fixture(params=STORE_BACKENDS)
def store_db(request, tmp_path):
    """An empty, migrated case database: SQLite file or PostgreSQL (parametrized)."""
    import shutil

    from triage.store.db import Database

    if request.param == "sqlite":
        path = tmp_path / "cases.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        db = Database(f"sqlite:///{path}")
        yield db
        db.dispose()
    else:
        db = request.getfixturevalue("pg_store")
        _truncate_all(db)
        yield db


class StoreClock:
    """A controllable clock for the case service (leases, deadlines) that starts at real time."""

    def __init__(self) -> None:
        from datetime import UTC, datetime

        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self):
        return self.now

    def advance(self, **delta: float) -> None:
        from datetime import timedelta

        self.now += timedelta(**delta)


@pytest.fixture
def store_clock() -> StoreClock:
    return StoreClock()


@pytest.fixture(scope="session")
def store_triager():
    """The real engine (shipped model + routing), loaded once per session."""
    from triage.pipeline import Triager

    return Triager.load()


@pytest.fixture
def case_service(store_db, store_triager, store_clock):
    """CaseService over an empty database with the real Triager and a controllable clock."""
    from triage.store.service import CaseService

    return CaseService(store_db, store_triager, clock=store_clock)


# ---- HTTP API: the app on a fresh database of each kind, with one user per role -----------------------
@pytest.fixture(scope="module", params=STORE_BACKENDS)
def api_env(request, tmp_path_factory, store_triager):
    from support.api_env import postgres_available, running_app, temporary_database

    if request.param == "postgresql" and not postgres_available():
        pg_unavailable("127.0.0.1:5432")
    with (
        temporary_database(request.param, tmp_path_factory.mktemp("api")) as url,
        running_app(url, store_triager) as env,
    ):
        yield env
