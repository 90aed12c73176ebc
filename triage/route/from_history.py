"""A first routing file for a city, written from its historical work orders.

A city's export names the unit each order went to (处置单位) but has no routing table. This writes
one that lists every unit the history shows, by name only (codes and handling levels are derived
when the file is loaded, see :mod:`triage.route.config`), maps each first-level category to the
unit that handled most of its orders, and leaves rules to the city. The file is meant to be
edited: a level written by hand overrides the derived one, and keyword rules can be added.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from triage.errors import InputError
from triage.route.config import derive_level
from triage.tabular.files import cell_text

DEFAULT_LEVEL_HOURS = {"网格": 24, "社区": 48, "街道": 72, "区": 120, "市": 240}
DEFAULT_PRIORITY_HOURS = {"urgent": 4, "high": 24, "normal": 720}


def _q(value: str) -> str:
    """A TOML basic string (JSON string escapes are valid TOML)."""
    return json.dumps(value, ensure_ascii=False)


def routing_from_history(
    rows: Iterable[Mapping[str, Any]],
    *,
    department_col: str,
    category_col: str,
    not_a_department: Sequence[str] = (),
    version: str = "",
    model_threshold: float = 0.0,
    default_level: str = "市",
) -> str:
    """The text of a ``routing.toml`` learned from ``rows`` (dicts of column → value)."""
    excluded = {v.strip() for v in not_a_department}
    units: Counter[str] = Counter()
    by_category: dict[str, Counter[str]] = {}
    for row in rows:
        unit = cell_text(row.get(department_col)).strip()
        category = cell_text(row.get(category_col)).strip()
        if not unit or unit in excluded:
            continue
        units[unit] += 1
        if category:
            by_category.setdefault(category, Counter())[unit] += 1
    if not units:
        raise InputError(
            f"no department values in column {department_col!r} (after leaving out {sorted(excluded)})",
            code="no_departments",
            field=department_col,
        )
    if not by_category:
        raise InputError(
            f"no category values in column {category_col!r}", code="no_labels", field=category_col
        )
    top_unit = units.most_common(1)[0][0]
    out = [
        f"# Routing learned from history: {sum(units.values())} orders, {len(units)} units, "
        f"{len(by_category)} first-level categories.",
        "# Departments are named only: codes and levels are derived from the names when the file is loaded",
        "# (write `level = ...` under a department to override). Add keyword [[rules]] as the city needs.",
        "",
        "[router]",
        f"version = {_q(version)}",
        f"default_department = {_q(top_unit)}",
        f"default_level = {_q(default_level)}",
        f"department_model_threshold = {model_threshold}",
        "",
        "[levels]",
        *(f"{_q(k)} = {v}" for k, v in DEFAULT_LEVEL_HOURS.items()),
        "",
        "[priorities]",
        *(f"{k} = {v}" for k, v in DEFAULT_PRIORITY_HOURS.items()),
        "",
    ]
    for unit, count in units.most_common():
        derived = derive_level(unit)
        note = f"  # {count} orders" + ("" if derived else f"; level not in the name: {default_level}")
        out += ["[[departments]]", f"name = {_q(unit)}{note}", ""]
    for category, counts in sorted(by_category.items(), key=lambda kv: -sum(kv[1].values())):
        unit, n = counts.most_common(1)[0]
        hours = DEFAULT_LEVEL_HOURS[derive_level(unit) or default_level]
        share = n / sum(counts.values())
        out += [
            f"[categories.{_q(category)}]  # {sum(counts.values())} orders, {share:.0%} to this unit",
            f"department = {_q(unit)}",
            f"deadline_hours = {hours}",
            "",
        ]
    return "\n".join(out)
