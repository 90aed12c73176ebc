"""422 with the allowed values for unknown categories, departments, levels and priorities."""

from __future__ import annotations

from api.errors import unknown_value
from triage.store.catalog import LEVELS
from triage.store.models import PRIORITY_RANK
from triage.store.service import CaseService


def check_category(service: CaseService, name: str, *, field: str = "category") -> None:
    catalog = service.catalog
    names = catalog.category_names()
    if name not in names and not catalog.router.is_known_category(name):
        raise unknown_value(field, name, names, code="unknown_category")


def check_subcategory(service: CaseService, category: str, name: str, *, field: str = "subcategory") -> None:
    known = service.catalog.subcategory_names(category)
    if known is not None and name not in known:
        raise unknown_value(field, name, known, code="unknown_subcategory")


def check_department(service: CaseService, code: str, *, field: str = "department_code") -> None:
    codes = [d.code for d in service.catalog.departments()]
    if code not in codes:
        raise unknown_value(field, code, codes, code="unknown_department")


def check_level(level: str, *, field: str = "level") -> None:
    if level not in LEVELS:
        raise unknown_value(field, level, LEVELS)


def check_priority(priority: str, *, field: str = "priority") -> None:
    if priority not in PRIORITY_RANK:
        raise unknown_value(field, priority, list(PRIORITY_RANK))
