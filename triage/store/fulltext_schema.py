"""The full-text index's schema (migrations u002 and u004): the dialect's DDL, the backfill of
cases indexed before it existed, and the Alembic filter that keeps autogenerate off its objects.

SQLite gets an FTS5 table ``case_fts`` over ``case_words`` with three triggers; PostgreSQL a stored
``tsvector`` column with a GIN index. A trigger on ``cases`` copies the scope columns into
``case_words`` (u004). The words themselves are cut by :mod:`triage.store.fulltext`.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from triage.store.fulltext import FTS_TABLE, PG_COLUMN, SCOPE_COLUMNS, words_row

PG_INDEX = "ix_case_words_fts"  # PostgreSQL GIN index on the tsvector column
TRIGGERS = ("case_words_ai", "case_words_ad", "case_words_au")

_SQLITE_DDL = (
    f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(words, content='case_words', content_rowid='case_id')",
    f"CREATE TRIGGER case_words_ai AFTER INSERT ON case_words BEGIN "
    f"INSERT INTO {FTS_TABLE}(rowid, words) VALUES (new.case_id, new.words); END",
    f"CREATE TRIGGER case_words_ad AFTER DELETE ON case_words BEGIN "
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, words) VALUES ('delete', old.case_id, old.words); END",
    f"CREATE TRIGGER case_words_au AFTER UPDATE ON case_words BEGIN "
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, words) VALUES ('delete', old.case_id, old.words); "
    f"INSERT INTO {FTS_TABLE}(rowid, words) VALUES (new.case_id, new.words); END",
)
_PG_DDL = (  # stored: a probe of one case's words must not cut its text again (~25 µs a row)
    f"ALTER TABLE case_words ADD COLUMN {PG_COLUMN} tsvector "
    "GENERATED ALWAYS AS (to_tsvector('simple', words)) STORED",
    f"CREATE INDEX {PG_INDEX} ON case_words USING gin ({PG_COLUMN})",
)

# u004: the scope columns (fulltext.SCOPE_COLUMNS) copied into case_words, kept in step by a trigger
# on cases (every write path: dispatch/reassign/correct change department_code, intake the grid, …)
SCOPE_TRIGGER = "cases_scope_au"
PG_SCOPE_FUNCTION = "case_words_scope_sync"
_SET = ", ".join(f"{c} = NEW.{c}" for c in SCOPE_COLUMNS)
_SQLITE_SCOPE_DDL = (
    # the FTS5 update trigger only when the words change (a department change must not re-index)
    "DROP TRIGGER IF EXISTS case_words_au",
    f"CREATE TRIGGER case_words_au AFTER UPDATE OF words ON case_words BEGIN "
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, words) VALUES ('delete', old.case_id, old.words); "
    f"INSERT INTO {FTS_TABLE}(rowid, words) VALUES (new.case_id, new.words); END",
    f"CREATE TRIGGER {SCOPE_TRIGGER} AFTER UPDATE OF {', '.join(SCOPE_COLUMNS)} ON cases BEGIN "
    f"UPDATE case_words SET {_SET} WHERE case_id = NEW.id; END",
)
_SQLITE_SCOPE_UNDO = (
    f"DROP TRIGGER IF EXISTS {SCOPE_TRIGGER}",
    "DROP TRIGGER IF EXISTS case_words_au",
    _SQLITE_DDL[3],
)
_PG_SCOPE_DDL = (
    f"CREATE OR REPLACE FUNCTION {PG_SCOPE_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$ "
    f"BEGIN UPDATE case_words SET {_SET} WHERE case_id = NEW.id; RETURN NULL; END $$",
    f"CREATE TRIGGER {SCOPE_TRIGGER} AFTER UPDATE OF {', '.join(SCOPE_COLUMNS)} ON cases FOR EACH ROW "
    f"WHEN ({' OR '.join(f'OLD.{c} IS DISTINCT FROM NEW.{c}' for c in SCOPE_COLUMNS)}) "
    f"EXECUTE FUNCTION {PG_SCOPE_FUNCTION}()",
)
_PG_SCOPE_UNDO = (
    f"DROP TRIGGER IF EXISTS {SCOPE_TRIGGER} ON cases",
    f"DROP FUNCTION IF EXISTS {PG_SCOPE_FUNCTION}()",
)


_SOURCE = sa.table(  # what the backfill reads; column names as of u002
    "cases",
    sa.column("id", sa.Integer),
    sa.column("title", sa.String),
    sa.column("text_masked", sa.Text),
    sa.column("address", sa.String),
    sa.column("reporter_contact", sa.String),
)
_WORDS = sa.table(
    "case_words", sa.column("case_id", sa.Integer), sa.column("words", sa.Text), sa.column("contact_key")
)


def has_scope_columns(conn: sa.Connection) -> bool:
    """Whether ``case_words`` has the columns of u004 (the backfill of u002 runs before them)."""
    return "created_at" in {c["name"] for c in sa.inspect(conn).get_columns("case_words")}


def copy_scope(conn: sa.Connection, lo: int | None = None, hi: int | None = None) -> None:
    """Copy the scope columns from ``cases`` into ``case_words`` (ids lo..hi, or all) as stored,
    byte for byte: the word table must sort and compare exactly like ``cases``."""
    source = sa.table("cases", sa.column("id"), *(sa.column(c) for c in SCOPE_COLUMNS))
    target = sa.table("case_words", sa.column("case_id"), *(sa.column(c) for c in SCOPE_COLUMNS))
    stmt = sa.update(target).values({c: source.c[c] for c in SCOPE_COLUMNS})
    stmt = stmt.where(target.c.case_id == source.c.id)
    if lo is not None and hi is not None:
        stmt = stmt.where(target.c.case_id.between(lo, hi))
    conn.execute(stmt)


def backfill(conn: sa.Connection, *, chunk: int = 2000) -> int:
    """Index every case that has no words yet, in id order and chunks (migration u002, reindex)."""
    done, last = 0, 0
    scope = has_scope_columns(conn)
    while True:
        rows = conn.execute(
            sa.select(_SOURCE)
            .where(_SOURCE.c.id > last)
            .where(~sa.exists().where(_WORDS.c.case_id == _SOURCE.c.id))
            .order_by(_SOURCE.c.id)
            .limit(chunk)
        ).all()
        if not rows:
            return done
        conn.execute(sa.insert(_WORDS), [words_row(r, scope=False) for r in rows])
        if scope:
            copy_scope(conn, rows[0].id, rows[-1].id)
        done, last = done + len(rows), rows[-1].id


def create_objects(conn: sa.Connection) -> None:
    """The dialect's full-text structure over ``case_words`` (after the table exists)."""
    for statement in _SQLITE_DDL if conn.dialect.name == "sqlite" else _PG_DDL:
        conn.exec_driver_sql(statement)


def drop_objects(conn: sa.Connection) -> None:
    if conn.dialect.name == "sqlite":
        for trigger in TRIGGERS:
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {trigger}")
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {FTS_TABLE}")
    else:
        conn.exec_driver_sql(f"DROP INDEX IF EXISTS {PG_INDEX}")
        conn.exec_driver_sql(f"ALTER TABLE case_words DROP COLUMN IF EXISTS {PG_COLUMN}")


def create_scope_sync(conn: sa.Connection) -> None:
    """The trigger of u004 that keeps ``case_words``' scope columns equal to the case's."""
    for statement in _SQLITE_SCOPE_DDL if conn.dialect.name == "sqlite" else _PG_SCOPE_DDL:
        conn.exec_driver_sql(statement)


def drop_scope_sync(conn: sa.Connection) -> None:
    for statement in _SQLITE_SCOPE_UNDO if conn.dialect.name == "sqlite" else _PG_SCOPE_UNDO:
        conn.exec_driver_sql(statement)


def is_fulltext_table(name: str | None) -> bool:
    """The FTS5 table and its shadow tables (case_fts_data, _idx, _docsize, _config)."""
    return bool(name) and (name == FTS_TABLE or str(name).startswith(FTS_TABLE + "_"))


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic autogenerate filter: the full-text objects made by u002 are not in the models'
    metadata on purpose (SQLAlchemy cannot describe an FTS5 table; the tsvector column and its index
    exist on PostgreSQL only), so never propose dropping them."""
    if reflected and compare_to is None:
        if type_ == "table" and is_fulltext_table(name):
            return False
        if (type_ == "index" and name == PG_INDEX) or (type_ == "column" and name == PG_COLUMN):
            return False
    return True
