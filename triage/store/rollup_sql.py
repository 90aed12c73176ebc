"""SQL for rollup tables kept exact by triggers on ``cases`` (u010, u012).

A rollup holds, per key (e.g. local day, department, status), sums that each case row contributes.
Triggers subtract a row's old contribution and add its new one on every insert, update of a counted
column and delete, so every code path that writes cases — the service, imports, batch jobs, a
manual SQL fix — keeps the figures exact; emptied groups are deleted. Only migrations use this.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from alembic import op

# (row alias: NEW, OLD or cases; dialect) -> key expressions, then sum expressions
Contribution = Callable[[str, str], list[str]]


def local_day(row: str, dialect: str) -> str:
    """The local (Asia/Shanghai) date of ``row.created_at``."""
    if dialect == "postgresql":
        return f"(timezone('Asia/Shanghai', {row}.created_at))::date"
    return f"date({row}.created_at, '+8 hours')"  # naive UTC text; China has no daylight saving time


@dataclass(frozen=True, slots=True)
class Rollup:
    table: str
    keys: tuple[str, ...]
    sums: tuple[str, ...]
    counted: str  # the ``cases`` columns whose update moves a row's contribution
    values: Contribution

    def _add(self, row: str, dialect: str) -> str:
        key, sums = ", ".join(self.keys), ", ".join(self.sums)
        added = ", ".join(f"{s} = {self.table}.{s} + excluded.{s}" for s in self.sums)
        return (
            f"INSERT INTO {self.table} ({key}, {sums}) VALUES ({', '.join(self.values(row, dialect))}) "
            f"ON CONFLICT ({key}) DO UPDATE SET {added}"
        )

    def _subtract(self, row: str, dialect: str) -> str:
        v = self.values(row, dialect)
        n = len(self.keys)
        where = " AND ".join(f"{k} = {e}" for k, e in zip(self.keys, v[:n], strict=True))
        less = ", ".join(f"{s} = {s} - {e}" for s, e in zip(self.sums, v[n:], strict=True))
        return (
            f"UPDATE {self.table} SET {less} WHERE {where}; "
            f"DELETE FROM {self.table} WHERE {where} AND cases <= 0"
        )

    def fill(self, dialect: str) -> str:
        """Fill the table from the existing cases."""
        v = self.values("cases", dialect)
        n = len(self.keys)
        sums = ", ".join(f"sum({e})" for e in v[n:])
        return (
            f"INSERT INTO {self.table} ({', '.join(self.keys)}, {', '.join(self.sums)}) "
            f"SELECT {', '.join(v[:n])}, {sums} FROM cases GROUP BY {', '.join(v[:n])}"
        )

    def triggers(self, dialect: str) -> list[str]:
        t = self.table
        add_new, subtract_old = self._add("NEW", dialect), self._subtract("OLD", dialect)
        if dialect != "postgresql":
            return [
                f"CREATE TRIGGER trg_{t}_insert AFTER INSERT ON cases BEGIN {add_new}; END",
                f"CREATE TRIGGER trg_{t}_update AFTER UPDATE OF {self.counted} ON cases "
                f"BEGIN {subtract_old}; {add_new}; END",
                f"CREATE TRIGGER trg_{t}_delete AFTER DELETE ON cases BEGIN {subtract_old}; END",
            ]
        # An update touches two rows of the table; taking them in key order means two transactions
        # moving cases in opposite directions (dispatch vs return) wait for each other, never deadlock.
        n = len(self.keys)
        old_key, new_key = (f"ROW({', '.join(self.values(r, dialect)[:n])})" for r in ("OLD", "NEW"))
        body = f"""
    BEGIN
      IF TG_OP = 'INSERT' THEN {add_new};
      ELSIF TG_OP = 'DELETE' THEN {subtract_old};
      ELSIF {old_key} <= {new_key} THEN {subtract_old}; {add_new};
      ELSE {add_new}; {subtract_old};
      END IF;
      RETURN NULL;
    END"""
        return [
            f"CREATE FUNCTION {t}_apply() RETURNS trigger LANGUAGE plpgsql AS $fn${body}$fn$",
            f"CREATE TRIGGER trg_{t} AFTER INSERT OR UPDATE OF {self.counted} OR DELETE ON cases "
            f"FOR EACH ROW EXECUTE FUNCTION {t}_apply()",
        ]

    def drop_triggers(self, dialect: str) -> list[str]:
        t = self.table
        if dialect == "postgresql":
            return [f"DROP TRIGGER IF EXISTS trg_{t} ON cases", f"DROP FUNCTION IF EXISTS {t}_apply()"]
        return [f"DROP TRIGGER IF EXISTS trg_{t}_{event}" for event in ("insert", "update", "delete")]

    def install(self, *columns: sa.Column[object]) -> None:
        """In a migration: create the table (``columns``; the keys are its primary key), fill it from
        the existing cases and start the triggers."""
        dialect = op.get_bind().dialect.name
        op.create_table(self.table, *columns, sa.PrimaryKeyConstraint(*self.keys))
        op.execute(self.fill(dialect))
        for statement in self.triggers(dialect):
            op.execute(statement)

    def uninstall(self) -> None:
        """In a migration: stop the triggers and drop the table."""
        for statement in self.drop_triggers(op.get_bind().dialect.name):
            op.execute(statement)
        op.drop_table(self.table)
