"""The city's grid registry (网格台账): list the grids and import them from the city's own file.

A city keeps its grids (code, name, community, street) in a spreadsheet. Importing it (CSV in
UTF-8/GBK/GB18030, or XLSX) creates the grids it does not know and updates the names of those
it does; the columns may carry their Chinese names (网格编号, 网格名称, 社区, 街道). A bad row is
reported with its number and field and the rest still load; nothing is deleted (a grid missing
from the file may still have cases).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import col, select

from triage.errors import InputError
from triage.store.db import Database
from triage.store.models import Grid, GridMember
from triage.tabular.files import TabularReader, cell_text

# Accepted headers per field, first match wins (the city's export, our own template, English).
GRID_COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("网格编号", "网格编码", "网格代码", "code", "grid_code"),
    "name": ("网格名称", "网格", "name"),
    "community": ("社区", "社区名称", "所属社区", "村居", "community"),
    "street": ("街道", "街道名称", "所属街道", "乡镇街道", "street"),
}
FIELD_CHARS = {name: Grid.__table__.c[name].type.length for name in GRID_COLUMNS}  # type: ignore[attr-defined]
MAX_GRID_ROWS = 50_000  # a city's registry: a few thousand grids; more is the wrong file


@dataclass(frozen=True, slots=True)
class GridRowError:
    row: int  # data row, from 1 (header excluded)
    field: str
    code: str
    message: str


@dataclass(slots=True)
class GridImport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[GridRowError] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class GridInfo:
    code: str
    name: str
    community: str
    street: str
    members: int


def grid_columns(available: Sequence[str]) -> dict[str, str]:
    """Which column of the file holds each field; the grid code is required (InputError naming it)."""
    found: dict[str, str] = {}
    for name, aliases in GRID_COLUMNS.items():
        match = next((c for c in aliases if c in available), None)
        if match is not None:
            found[name] = match
    if "code" not in found:
        have = ", ".join(repr(c) for c in available) or "(none)"
        raise InputError(
            f"no grid code column (one of {', '.join(GRID_COLUMNS['code'])}); available columns: {have}",
            code="missing_column",
            field="网格编号",
        )
    return found


def check_grid(values: dict[str, str]) -> tuple[str, str, str] | None:
    """(field, code, message) of the first problem of one grid's values, else None: the import's
    rows and the 网格管理 page's form are held to the same rules."""
    if not values["code"]:
        return "code", "code_required", "the grid code is empty"
    for name, value in values.items():
        if len(value) > FIELD_CHARS[name]:
            return name, "too_long", f"{name} has more than {FIELD_CHARS[name]} characters"
    return None


def _check_row(row: int, values: dict[str, str], seen: dict[str, int]) -> GridRowError | None:
    problem = check_grid(values)
    if problem is not None:
        return GridRowError(row, *problem)
    if values["code"] in seen:
        first = seen[values["code"]]
        return GridRowError(row, "code", "duplicate_code", f"grid {values['code']} is already on row {first}")
    return None


def read_registry(
    path: str | Path, *, fmt: str | None = None
) -> tuple[list[dict[str, str]], list[GridRowError]]:
    """The file's valid rows (code, name, community, street) and its row errors."""
    rows: list[dict[str, str]] = []
    errors: list[GridRowError] = []
    seen: dict[str, int] = {}
    with TabularReader(path, fmt=fmt) as reader:
        columns = grid_columns(reader.columns)
        for record in reader:
            if record.row > MAX_GRID_ROWS:
                raise InputError(
                    f"more than {MAX_GRID_ROWS} rows: is this the grid registry?", code="too_many_rows"
                )
            if record.error is not None or record.values is None:
                message = str(record.error) if record.error else "unreadable row"
                errors.append(GridRowError(record.row, "row", "bad_row", message))
                continue
            values = {name: cell_text(record.values.get(column)) for name, column in columns.items()}
            values = {name: values.get(name, "") for name in GRID_COLUMNS}
            error = _check_row(record.row, values, seen)
            if error is not None:
                errors.append(error)
                continue
            seen[values["code"]] = record.row
            rows.append(values)
    return rows, errors


def import_grids(db: Database, path: str | Path, *, fmt: str | None = None) -> GridImport:
    """Create or update every valid row of the registry file in one transaction."""
    rows, errors = read_registry(path, fmt=fmt)
    report = GridImport(errors=errors)
    with db.session(write=True) as session:
        known = {
            g.code: g for g in session.exec(select(Grid).where(col(Grid.code).in_([r["code"] for r in rows])))
        }
        for values in rows:
            grid = known.get(values["code"])
            if grid is None:
                session.add(Grid(**{**values, "name": values["name"] or values["code"]}))
                report.created += 1
                continue
            # an empty cell keeps what the registry already says
            changed = {k: v for k, v in values.items() if k != "code" and v and getattr(grid, k) != v}
            for name, value in changed.items():
                setattr(grid, name, value)
            if changed:
                session.add(grid)
                report.updated += 1
            else:
                report.unchanged += 1
    return report


def list_grids(db: Database, codes: Iterable[str] | None = None) -> list[GridInfo]:
    """Every grid (or those of ``codes``) by code, with how many users work in it."""
    members = (
        sa.select(col(GridMember.grid_code), sa.func.count().label("n"))
        .group_by(col(GridMember.grid_code))
        .subquery()
    )
    stmt = (
        sa.select(col(Grid.code), col(Grid.name), col(Grid.community), col(Grid.street), members.c.n)
        .outerjoin(members, members.c.grid_code == col(Grid.code))
        .order_by(col(Grid.code))
    )
    if codes is not None:
        stmt = stmt.where(col(Grid.code).in_(list(codes)))
    with db.session() as session:
        return [GridInfo(c, n, cm, s, int(m or 0)) for c, n, cm, s, m in session.execute(stmt)]
