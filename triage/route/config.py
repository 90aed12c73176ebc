"""Schema and validation of the routing configuration (``routing.toml``).

The file is authored by hand and may be replaced by a city, so every problem is reported as a
:class:`~triage.errors.ConfigError` that names the file, the entry and what is wrong, instead of
surfacing later as a ``KeyError`` in the middle of routing a message.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
import unicodedata
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from triage.errors import ConfigError

Level = Literal["网格", "社区", "街道", "区", "市"]  # lowest first; the one list of levels (store, API, UI)
Priority = Literal["urgent", "high", "normal"]  # most urgent first
LEVELS: tuple[str, ...] = get_args(Level)
PRIORITIES: tuple[str, ...] = get_args(Priority)
# Sort key, most urgent 0 (the router's rule order, the store's priority_rank column and queue order).
PRIORITY_RANK: dict[str, int] = {p: i for i, p in enumerate(PRIORITIES)}
SHIPPED_NAME = "routing.toml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RouterSpec(_Strict):
    version: str = ""
    default_department: str
    default_level: Level = "市"  # a department whose level is neither written nor derivable from its name
    department_model_threshold: float = Field(default=0.6, ge=0.0, le=1.0)
    max_alternatives: int = Field(default=4, ge=0, le=20)


class DepartmentSpec(_Strict):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")  # filled from the name when the file has none
    name: str = Field(min_length=1)
    level: Level  # filled from the name (derive_level) when the file has none
    parent: str | None = None
    aliases: list[str] = []


class SubcategorySpec(_Strict):
    department: str
    level: Level | None = None
    deadline_hours: int = Field(gt=0)
    hints: list[str] = []


class CategorySpec(_Strict):
    department: str
    level: Level | None = None
    deadline_hours: int = Field(gt=0)
    sub: dict[str, SubcategorySpec] = {}


# A rule's name is what people read ("路由规则「消防通道堵塞」"), so it must say something in Chinese;
# the id stays the machine key (logs, API fields, tests) and never reaches a page.
_CHINESE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


class RuleSpec(_Strict):
    id: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_.-]*$")
    name: str = Field(min_length=1, max_length=40)  # the Chinese label shown to people
    terms: list[str] = Field(min_length=1)
    all_of: list[str | list[str]] = []  # every item must occur; an inner list means any one of it
    none_of: list[str] = []
    category: str | None = None
    subcategory: str | None = None
    department: str
    level: Level | None = None
    deadline_hours: int | None = Field(default=None, gt=0)
    priority: Priority = "normal"
    precedence: int = 0
    note: str = ""


class RoutingSpec(_Strict):
    router: RouterSpec
    levels: dict[Level, int]
    priorities: dict[Priority, int]
    departments: list[DepartmentSpec] = Field(min_length=1)
    categories: dict[str, CategorySpec] = Field(min_length=1)
    rules: list[RuleSpec] = []


@dataclass(frozen=True, slots=True)
class LoadedConfig:
    """A validated configuration and where it came from (for messages and for ``Router.source``)."""

    spec: RoutingSpec
    source: str


def shipped_path() -> str:
    return str(resources.files("triage").joinpath("resources").joinpath(SHIPPED_NAME))


def load_config(path: Path | str | None = None) -> LoadedConfig:
    """Read, parse and validate ``path`` (None: the shipped ``routing.toml``)."""
    if path is None:
        source = shipped_path()
        raw_bytes = resources.files("triage").joinpath("resources").joinpath(SHIPPED_NAME).read_bytes()
    else:
        source = str(path)
        try:
            raw_bytes = Path(path).read_bytes()
        except OSError as exc:
            raise ConfigError(f"{source}: cannot read routing config ({exc.strerror})") from None
    try:
        raw = tomllib.loads(raw_bytes.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{source}: routing config is not UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: invalid TOML: {exc}") from None
    raw = _fill_departments(_normalise(raw))
    try:
        spec = RoutingSpec.model_validate(raw)
    except ValidationError as exc:
        raise _schema_error(source, raw, exc) from None
    problems = _cross_check(spec)
    if problems:
        entry, message = problems[0]
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        raise ConfigError(f"{source}: {entry}: {message}{more}")
    return LoadedConfig(spec=spec, source=source)


# Level from a unit's name, most local first: a street office inside a district is a street office.
_LEVEL_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("网格", re.compile(r"网格")),
    ("社区", re.compile(r"社区|居委会|村委会|居民委员会|村民委员会|村$")),
    ("街道", re.compile(r"街道|[镇乡](人民)?政府|[镇乡]$|[镇乡]党委")),
    ("区", re.compile(r"..[区县]")),
    ("市", re.compile(r"^市|市")),
)


def derive_level(name: str) -> str | None:
    """Handling level implied by a department's name (市…局 → 市, 龙华区… → 区, …街道/…镇 → 街道,
    …社区/村 → 社区), or None when the name says nothing (companies, catch-alls)."""
    name = unicodedata.normalize("NFKC", name).strip()
    return next((level for level, pattern in _LEVEL_PATTERNS if pattern.search(name)), None)


def department_code(name: str) -> str:
    """A stable code for a department known only by its name (a city export's 处置单位)."""
    digest = hashlib.sha256(unicodedata.normalize("NFKC", name).strip().encode("utf-8")).hexdigest()
    return "d_" + digest[:10]


def _fill_departments(raw: Any) -> Any:
    """Give departments without ``code``/``level`` derived ones, and let references use names.

    A city's routing file is often written from its export, where a unit is only a name: the code
    is then a hash of the name (stable across files and runs) and the level comes from the name
    (``[router] default_level`` when the name says nothing). Wherever a code is expected, a
    department's name is accepted too. Values of the wrong type are left for the schema to report.
    """
    if not isinstance(raw, dict) or not isinstance(raw.get("departments"), list):
        return raw
    router = raw.get("router")
    if not isinstance(router, dict):
        router = {}
    fallback = router.get("default_level", "市")
    by_name: dict[str, str] = {}
    departments = []
    for dept in raw["departments"]:
        if isinstance(dept, dict) and isinstance(dept.get("name"), str) and dept["name"]:
            dept = dict(dept)
            dept.setdefault("code", department_code(dept["name"]))
            dept.setdefault("level", derive_level(dept["name"]) or fallback)
            if isinstance(dept["code"], str):
                by_name.setdefault(dept["name"], dept["code"])
        departments.append(dept)
    codes = {d.get("code") for d in departments if isinstance(d, dict)}

    def ref(entry: Any, key: str = "department") -> Any:
        """``entry`` with its reference ``key`` turned from a name into a code (if it names one)."""
        if not isinstance(entry, dict) or not isinstance(entry.get(key), str) or entry[key] in codes:
            return entry
        return dict(entry, **{key: by_name.get(entry[key], entry[key])})

    out = dict(raw, departments=[ref(d, "parent") for d in departments])
    if router:
        out["router"] = ref(router, "default_department")
    if isinstance(raw.get("categories"), dict):
        cats = {}
        for name, cat in raw["categories"].items():
            cat = ref(cat)
            if isinstance(cat, dict) and isinstance(cat.get("sub"), dict):
                cat = dict(cat, sub={k: ref(v) for k, v in cat["sub"].items()})
            cats[name] = cat
        out["categories"] = cats
    if isinstance(raw.get("rules"), list):
        out["rules"] = [ref(r) for r in raw["rules"]]
    return out


def _normalise(value: Any) -> Any:
    """NFKC every string, as intake does for message text, so terms match normalised messages."""
    if isinstance(value, str):
        return unicodedata.normalize("NFKC", value).strip()
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    if isinstance(value, dict):
        return {_normalise(k): _normalise(v) for k, v in value.items()}
    return value


def _entry_name(raw: dict[str, Any], loc: tuple[Any, ...]) -> str:
    """Human name of the entry an error location points into, e.g. ``rules[3] (id='litter')``."""
    if not loc:
        return "<top level>"
    head = loc[0]
    if head in ("departments", "rules") and len(loc) > 1 and isinstance(loc[1], int):
        key = "code" if head == "departments" else "id"
        items = raw.get(head)
        item = items[loc[1]] if isinstance(items, list) and loc[1] < len(items) else None
        ident = item.get(key) if isinstance(item, dict) else None
        return f"{head}[{loc[1]}]" + (f" ({key}={ident!r})" if ident else "")
    if head == "categories" and len(loc) > 1:
        if len(loc) > 3 and loc[2] == "sub":
            return f"categories.{loc[1]}.sub.{loc[3]}"
        return f"categories.{loc[1]}"
    return str(head)


def _schema_error(source: str, raw: dict[str, Any], exc: ValidationError) -> ConfigError:
    errors = exc.errors()
    first = errors[0]
    loc = tuple(first["loc"])
    entry = _entry_name(raw, loc)
    prefix_len = 2 if loc and loc[0] in ("departments", "rules") else 4 if "sub" in loc[:3] else 2
    field = ".".join(str(p) for p in loc[prefix_len:]) or ".".join(str(p) for p in loc)
    problem = "missing required field" if first["type"] == "missing" else first["msg"]
    if first["type"] == "extra_forbidden":
        problem = "unknown field"
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    return ConfigError(f"{source}: {entry}: {field}: {problem}{more}")


def _cross_check(spec: RoutingSpec) -> list[tuple[str, str]]:
    """References between entries: codes exist, ids and aliases are unique, parents form a tree."""
    problems: list[tuple[str, str]] = []
    codes: dict[str, int] = {}
    for i, dept in enumerate(spec.departments):
        entry = f"departments[{i}] (code={dept.code!r})"
        if dept.code in codes:
            problems.append((entry, f"duplicate department code {dept.code!r}"))
        codes.setdefault(dept.code, i)
    alias_owner: dict[str, str] = {}
    for i, dept in enumerate(spec.departments):
        entry = f"departments[{i}] (code={dept.code!r})"
        if dept.parent is not None and dept.parent not in codes:
            problems.append((entry, f"unknown parent department {dept.parent!r}"))
        for alias in (dept.name, *dept.aliases):
            if not alias:
                problems.append((entry, "empty alias"))
            elif alias_owner.setdefault(alias, dept.code) != dept.code:
                problems.append((entry, f"alias {alias!r} is also used by {alias_owner[alias]!r}"))
    parents = {d.code: d.parent for d in spec.departments}
    for i, dept in enumerate(spec.departments):
        seen, node = {dept.code}, dept.parent
        while node is not None and node in parents:
            if node in seen:
                problems.append((f"departments[{i}] (code={dept.code!r})", "parent chain forms a cycle"))
                break
            seen.add(node)
            node = parents[node]
    if spec.router.default_department not in codes:
        problems.append(("router", f"unknown default_department {spec.router.default_department!r}"))
    missing_levels = [lv for lv in LEVELS if lv not in spec.levels]
    if missing_levels:
        problems.append(("levels", f"no default deadline for level(s) {', '.join(missing_levels)}"))
    missing_prio = [p for p in PRIORITIES if p not in spec.priorities]
    if missing_prio:
        problems.append(("priorities", f"no deadline cap for priority(ies) {', '.join(missing_prio)}"))
    for name, cat in spec.categories.items():
        if cat.department not in codes:
            problems.append((f"categories.{name}", f"unknown department {cat.department!r}"))
        for sub_name, sub in cat.sub.items():
            if sub.department not in codes:
                problems.append(
                    (f"categories.{name}.sub.{sub_name}", f"unknown department {sub.department!r}")
                )
            if any(not h for h in sub.hints):
                problems.append((f"categories.{name}.sub.{sub_name}", "empty hint term"))
    rule_ids: set[str] = set()
    rule_names: dict[str, str] = {}
    for i, rule in enumerate(spec.rules):
        entry = f"rules[{i}] (id={rule.id!r})"
        if rule.id in rule_ids:
            problems.append((entry, f"duplicate rule id {rule.id!r}"))
        rule_ids.add(rule.id)
        if not _CHINESE.search(rule.name):
            problems.append((entry, f"name {rule.name!r} must be a Chinese label (it is shown to people)"))
        elif rule_names.setdefault(rule.name, rule.id) != rule.id:
            problems.append((entry, f"name {rule.name!r} is also used by rule {rule_names[rule.name]!r}"))
        if rule.department not in codes:
            problems.append((entry, f"unknown department {rule.department!r}"))
        groups = [g if isinstance(g, list) else [g] for g in rule.all_of]
        if any(not t for t in (*rule.terms, *rule.none_of, *(t for g in groups for t in g))) or [] in groups:
            problems.append((entry, "empty term"))
        if rule.category is not None and rule.category not in spec.categories:
            problems.append((entry, f"unknown category {rule.category!r}"))
        elif rule.subcategory is not None:
            if rule.category is None:
                problems.append((entry, "subcategory given without category"))
            elif rule.subcategory not in spec.categories[rule.category].sub:
                problems.append((entry, f"unknown subcategory {rule.subcategory!r} of {rule.category!r}"))
    return problems
