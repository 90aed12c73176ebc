"""What the routing configuration allows: categories, departments, levels, deadlines.

A thin view over :class:`triage.route.router.Router` used to validate reviewer corrections and
to compute deadlines, so the store never duplicates the city's routing file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from triage.errors import TriageError
from triage.route.config import LEVELS
from triage.store.errors import unknown_value
from triage.store.models import PRIORITY_RANK

if TYPE_CHECKING:
    from triage.store.db import Database

DEFAULT_DEADLINE_HOURS = 168  # one week when the routing file names no deadline


@dataclass(frozen=True, slots=True)
class DepartmentInfo:
    code: str
    name: str
    level: str
    parent_code: str | None = None
    deadline_hours: int | None = None


def _get(obj: Any, *names: str, default: Any = None) -> Any:
    for name in names:
        if isinstance(obj, dict) and name in obj:
            return obj[name]
        if hasattr(obj, name):
            return getattr(obj, name)
    return default


def _as_department(code: str | None, obj: Any, router: Any = None) -> DepartmentInfo:
    code = str(_get(obj, "code", "department_code", default=code))
    level = str(_get(obj, "level", default=""))
    deadline = getattr(router, "level_deadline", None)
    return DepartmentInfo(
        code=code,
        name=str(_get(obj, "name", "department", default=code)),
        level=level,
        parent_code=_get(obj, "parent", "parent_code"),
        deadline_hours=deadline(level) if callable(deadline) else None,
    )


class Catalog:
    """Validation and deadlines backed by the router (any object with the Router interface)."""

    def __init__(self, router: Any) -> None:
        self.router = router
        self._converted: tuple[tuple[Any, ...], list[DepartmentInfo]] = ((), [])

    # -- departments ----------------------------------------------------------------------
    def departments(self) -> list[DepartmentInfo]:
        """The router's departments as :class:`DepartmentInfo`; converted again only when the router
        hands out other objects (pages ask several times per request)."""
        raw = self.router.departments()
        items = list(raw.items() if isinstance(raw, dict) else ((None, d) for d in raw))
        objs = tuple(obj for _, obj in items)  # kept alive, so "is" below cannot match a new object
        seen = self._converted[0]
        if not objs or len(objs) != len(seen) or any(a is not b for a, b in zip(objs, seen, strict=True)):
            self._converted = (objs, [_as_department(code, obj, self.router) for code, obj in items])
        return list(self._converted[1])

    def department(self, code: str, *, field: str = "department_code") -> DepartmentInfo:
        """The department with this code, or a ValidationError listing the known codes."""
        try:
            found = self.router.department(code)
        except (KeyError, LookupError):
            found = None
        if found is None:
            allowed = [f"{d.code}({d.name})" for d in self.departments()]
            raise unknown_value(field, code, allowed, code="unknown_department")
        return _as_department(code, found, self.router)

    # -- categories -----------------------------------------------------------------------
    def category_names(self) -> list[str]:
        raw = self.router.categories()
        return [str(_get(c, "name", default=c)) if not isinstance(c, str) else c for c in raw]

    def check_category(self, name: str, *, field: str = "category") -> str:
        if not name or not self.router.is_known_category(name):
            raise unknown_value(field, name, self.category_names(), code="unknown_category")
        return name

    def subcategory_names(self, category: str) -> list[str] | None:
        """Known sub-categories of ``category``, or None when the router does not list them."""
        raw = self.router.categories()
        entry = raw.get(category) if isinstance(raw, dict) else None
        if entry is None and not isinstance(raw, dict):
            entry = next((c for c in raw if _get(c, "name") == category), None)
        subs = _get(entry, "subcategories", "sub", default=entry if isinstance(entry, list | tuple) else None)
        if subs is None:
            return None
        if isinstance(subs, dict):
            return [str(k) for k in subs]
        return [s if isinstance(s, str) else str(_get(s, "name", default=s)) for s in subs]

    def check_subcategory(self, category: str, sub: str | None) -> str | None:
        if not sub:
            return None
        known = self.subcategory_names(category)
        if known is not None and sub not in known:
            raise unknown_value("subcategory", sub, known, code="unknown_subcategory")
        return sub

    # -- levels, priority, deadlines ------------------------------------------------------
    @staticmethod
    def check_level(level: str) -> str:
        if level not in LEVELS:
            raise unknown_value("level", level, LEVELS, code="unknown_level")
        return level

    @staticmethod
    def check_priority(priority: str) -> str:
        if priority not in PRIORITY_RANK:
            raise unknown_value("priority", priority, PRIORITY_RANK, code="unknown_priority")
        return priority

    def deadline_hours(self, category: str, subcategory: str | None, priority: str) -> int:
        try:
            hours = self.router.deadline_for(category, subcategory, priority)
        except (LookupError, ValueError, TriageError):  # not in the routing file: the default applies
            hours = None
        return int(hours) if hours else DEFAULT_DEADLINE_HOURS


def sync_departments(db: Database, catalog: Catalog, *, profile: str | None = None) -> int:
    """Make ``departments`` hold the active profile's units: upsert them (parents first) with name,
    level and default deadline, and deactivate the rest (cases and users still refer to them).

    Returns the number of the profile's departments."""
    from sqlalchemy.dialects import postgresql, sqlite
    from sqlmodel import col, update

    from triage.store.models import Department

    departments = catalog.departments()
    known = {d.code for d in departments}
    with db.session(write=True) as session:
        insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        for dept in sorted(departments, key=lambda d: d.parent_code is not None):
            values = dict(
                code=dept.code,
                name=dept.name,
                level=dept.level,
                parent_code=dept.parent_code if dept.parent_code in known else None,
                deadline_hours=dept.deadline_hours,
                profile=profile,
                active=True,
            )
            stmt = insert(Department).values(**values)
            session.execute(stmt.on_conflict_do_update(index_elements=["code"], set_=values))
        session.execute(update(Department).where(col(Department.code).not_in(known)).values(active=False))
    return len(departments)
