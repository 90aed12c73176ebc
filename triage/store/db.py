"""Engines and sessions for SQLite (default, WAL) and PostgreSQL (psycopg 3), plus Alembic.

SQLite notes: every connection gets WAL, ``synchronous=FULL`` (a committed case survives a
crash of the process *and* of the machine), foreign keys and a busy timeout. Write
transactions start with ``BEGIN IMMEDIATE`` so two writers queue on the lock instead of
failing with "database is locked" when a read turns into a write.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import CursorResult, Engine, Result, create_engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session

from triage.config import Settings, get_settings
from triage.errors import ConfigError

log = logging.getLogger(__name__)
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_IMMEDIATE = "triage_sqlite_immediate"  # execution option that selects BEGIN IMMEDIATE
# PostgreSQL connections per process: the pool plus its overflow (the API sizes its thread pool on it).
PG_POOL_SIZE, PG_MAX_OVERFLOW = 10, 10


def rows_matched(result: Result[Any]) -> int:
    """The ``rowcount`` of an UPDATE or DELETE run through ``Session.execute``.

    ``Session.execute`` is typed as returning a plain ``Result``; for these statements it is a
    ``CursorResult``, which carries the count (the cast only tells the type checker so).
    """
    return cast("CursorResult[Any]", result).rowcount


def normalize_url(url: str) -> str:
    """Use the psycopg 3 driver for plain ``postgresql://`` URLs (psycopg2 is not installed)."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _sqlite_pragmas(engine: Engine, synchronous: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (see _on_begin)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # type: ignore[no-untyped-def]
        immediate = conn.get_execution_options().get(_IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(url: str, *, echo: bool = False, sqlite_synchronous: str = "FULL", **kwargs) -> Engine:
    """Create an engine for a SQLite file or a PostgreSQL server."""
    url = normalize_url(url)
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )
        _sqlite_pragmas(engine, sqlite_synchronous)
        return engine
    if backend == "postgresql":
        kwargs.setdefault("pool_size", PG_POOL_SIZE)
        kwargs.setdefault("max_overflow", PG_MAX_OVERFLOW)
        return create_engine(url, echo=echo, pool_pre_ping=True, **kwargs)
    raise ConfigError(
        f"unsupported database URL {make_url(url).render_as_string(hide_password=True)!r}; "
        "use sqlite:///FILE or postgresql+psycopg://USER@HOST/DB",
        code="bad_database_url",
        field="database_url",
    )


class Database:
    """One engine plus the session helpers the service layer uses."""

    def __init__(
        self,
        url: str | None = None,
        *,
        engine: Engine | None = None,
        settings: Settings | None = None,
        sqlite_synchronous: str | None = None,
    ) -> None:
        settings = settings or get_settings()
        self.url = normalize_url(url or settings.database_url)
        # FULL: a committed case survives power loss too; NORMAL (WAL) survives a killed process only.
        sync = sqlite_synchronous or settings.sqlite_synchronous
        if sync.upper() not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
            raise ConfigError(
                f"sqlite_synchronous must be NORMAL, FULL or EXTRA, got {sync!r}",
                code="bad_setting",
                field="sqlite_synchronous",
            )
        self.engine = engine or make_engine(self.url, sqlite_synchronous=sync.upper())

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @contextmanager
    def session(self, *, write: bool = False) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error.

        Objects stay readable after commit (``expire_on_commit=False``) so the service can
        return them to callers.
        """
        with Session(self.engine, expire_on_commit=False) as session:
            if write and self.dialect == "sqlite":
                session.connection(execution_options={_IMMEDIATE: True})
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    # -- migrations ---------------------------------------------------------------------
    def alembic_config(self) -> Config:
        return alembic_config(self.engine)

    def upgrade(self, revision: str = "head") -> None:
        before = self.current()
        command.upgrade(self.alembic_config(), revision)
        self._log_migration("upgraded", before)

    def downgrade(self, revision: str = "base") -> None:
        before = self.current()
        command.downgrade(self.alembic_config(), revision)
        self._log_migration("downgraded", before)

    def _log_migration(self, verb: str, before: str | None) -> None:
        """One record per schema change (none when already there); the URL is logged without its password."""
        after = self.current()
        if after != before:
            where = make_url(self.url).render_as_string(hide_password=True)
            log.info("%s database %s from %s to %s", verb, where, before or "nothing", after or "nothing")

    def current(self) -> str | None:
        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def head(self) -> str | None:
        return ScriptDirectory.from_config(self.alembic_config()).get_current_head()

    def ensure_schema(self, *, upgrade: bool = False) -> None:
        """Check the schema is at the latest migration; optionally migrate it there first."""
        if upgrade:
            self.upgrade()
            return
        current, head = self.current(), self.head()
        if current != head:
            raise ConfigError(
                f"database schema is at {current or 'nothing'}, expected {head}; run `triage db upgrade`",
                code="schema_out_of_date",
                field="database_url",
            )

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config(engine: Engine) -> Config:
    """Alembic configuration pointing into this package; no alembic.ini needed."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg
