"""Request checks shared by the routers: allowed values (categories, departments, levels,
priorities) and the accepted date range, each a 422 that names the field."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Query
from pydantic import AfterValidator, BeforeValidator
from pydantic_core import PydanticCustomError

from api.errors import ApiError, unknown_value
from triage.route.config import LEVELS
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


# -- dates ---------------------------------------------------------------------------------
# The calendar days a date filter (cases, lists, Open311, web lists, jobs) may name. Far enough
# from datetime's own limits (0001 … 9999) that "the day after" and time-zone conversion to UTC
# never overflow, and wide enough for any real petition, historical imports included.
DATE_MIN = date(1900, 1, 1)
DATE_MAX = date(2999, 12, 31)
DATE_RANGE_TEXT = f"{DATE_MIN.isoformat()} … {DATE_MAX.isoformat()}"


def in_date_range(value: date | datetime) -> bool:
    day = value.date() if isinstance(value, datetime) else value
    return DATE_MIN <= day <= DATE_MAX


def _iso_only(value: Any) -> Any:
    """pydantic reads a bare number as a Unix timestamp (``date_to=0`` is 1970-01-01): refuse it."""
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.fullmatch(value.strip())):
        raise ValueError("expected an ISO 8601 date such as 2026-01-31, not a number")
    return value


def _checked_day(value: Any) -> Any:
    if value is not None and not in_date_range(value):  # a rule of ours: its own error code
        raise PydanticCustomError(
            "date_out_of_range", "date must lie within {range}", {"range": DATE_RANGE_TEXT}
        )
    return value


_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")

# ``Annotated`` types for request models and parameters: pydantic reports the field by name.
Day = Annotated[date, BeforeValidator(_iso_only), AfterValidator(_checked_day)]
Moment = Annotated[datetime, BeforeValidator(_iso_only), AfterValidator(_checked_day)]


def day_query(description: str) -> Any:
    """``Query(...)`` of a date filter, with the accepted range in its documentation."""
    return Query(description=f"{description} Within {DATE_RANGE_TEXT}.")


def check_date_range(date_from: date | None, date_to: date | None, *, field: str = "date_from") -> None:
    if date_from and date_to and date_from > date_to:
        raise ApiError(422, "invalid_date_range", f"{field}: the first date is after the last", field=field)
