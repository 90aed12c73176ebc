"""The grid registry (网格台账), admins only: list, save one grid, import the city's file.

The page and ``triage grids …`` share :mod:`triage.store.grid_registry`; uploads are written to
a temporary file first because the tabular reader streams from a path (encoding, XLSX).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from api import access
from api.security import Principal
from triage.errors import InputError
from triage.store import grid_registry
from triage.store.db import Database
from triage.store.errors import ValidationError
from triage.store.models import Grid
from triage.store.registry import upsert_grid
from triage.tabular.formats import FORMATS


def grids(db: Database, user: Principal) -> list[grid_registry.GridInfo]:
    access.require(user, access.ADMIN, "manage grids")
    return grid_registry.list_grids(db)


def save(db: Database, user: Principal, code: str, *, name: str, community: str, street: str) -> Grid:
    """Create or rename one grid (its members stay)."""
    access.require(user, access.ADMIN, "manage grids")
    values = {"code": code, "name": name or code, "community": community, "street": street}
    problem = grid_registry.check_grid(values)
    if problem is not None:
        field, error_code, message = problem
        raise ValidationError(message, code=error_code, field=field)
    return upsert_grid(db, code, name=values["name"], community=community, street=street)


def import_file(db: Database, user: Principal, data: bytes, filename: str) -> grid_registry.GridImport:
    """Import an uploaded registry (CSV or XLSX, told by the file name's suffix)."""
    access.require(user, access.ADMIN, "manage grids")
    suffix = Path(filename or "").suffix.lower()
    if FORMATS.get(suffix) not in ("csv", "tsv", "xlsx"):
        raise InputError(f"{filename!r} is not a CSV or XLSX file", code="bad_format", field="file")
    if not data:
        raise InputError("the file is empty", code="empty_file", field="file")
    with tempfile.TemporaryDirectory(prefix="grids-") as tmp:
        path = Path(tmp) / f"registry{suffix}"
        path.write_bytes(data)
        return grid_registry.import_grids(db, path)
