"""Names people read for the codes cases carry: departments and grids.

Cases store ``department_code`` (``urban_mgmt``) and ``grid_code`` (``G001``); a list, a desk, a case
page or an XLSX export shows 城市管理局 and 幸福一网格（幸福社区） instead. Names come from the
``departments`` table (the active profile's routing file, :func:`triage.store.catalog.sync_departments`)
and the ``grids`` registry; a code with no entry shows as itself, so nothing is ever blank. Codes stay
in URLs and API fields. One look-up per page: departments are few (all loaded), grids only for the
codes on the page.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import col, select

from triage.store.db import Database
from triage.store.models import Department, Grid

__all__ = ["Names", "load_names", "with_names"]


def grid_label(grid: Grid) -> str:
    """``name（community）`` when the community adds something, else the grid's name."""
    if grid.community and grid.community not in grid.name:
        return f"{grid.name}（{grid.community}）"
    return grid.name or grid.code


@dataclass(frozen=True, slots=True)
class Names:
    """Code → display name for departments and grids (unknown codes map to themselves)."""

    departments: Mapping[str, str] = field(default_factory=dict)
    grids: Mapping[str, str] = field(default_factory=dict)

    def department(self, code: str | None, fallback: str | None = None) -> str:
        """The department's name; ``fallback`` (a name stored with the case) before the bare code."""
        if not code:
            return fallback or ""
        return self.departments.get(code) or fallback or code

    def grid(self, code: str | None) -> str:
        if not code:
            return ""
        return self.grids.get(code) or code


def load_names(
    db: Database,
    grid_codes: Iterable[str | None] | None = None,
    *,
    departments: Mapping[str, str] | None = None,
) -> Names:
    """The names of ``grid_codes`` (None: every grid, capped at 2,000) and of every department.

    ``departments`` (code → name, e.g. from the service's catalog, which is in memory) saves the
    query on the ``departments`` table."""
    with db.session() as session:
        if departments is None:
            departments = {d.code: d.name for d in session.exec(select(Department)) if d.name}
        stmt = select(Grid)
        if grid_codes is not None:
            wanted = sorted({c for c in grid_codes if c})
            if not wanted:
                return Names(departments, {})
            stmt = stmt.where(col(Grid.code).in_(wanted))
        else:
            stmt = stmt.order_by(col(Grid.code)).limit(2000)
        grids = {g.code: grid_label(g) for g in session.exec(stmt)}
    return Names(departments, grids)


def with_names(rows: Iterable[dict[str, Any]], names: Names) -> list[dict[str, Any]]:
    """List rows with ``department_name`` and ``grid_name`` added (codes kept for links and filters)."""
    out = []
    for row in rows:
        row = dict(row)
        if "department_code" in row:
            row["department_name"] = names.department(row.get("department_code"), row.get("department"))
        if "grid_code" in row:
            row["grid_name"] = names.grid(row.get("grid_code"))
        out.append(row)
    return out
