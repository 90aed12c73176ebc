"""Department head: which handling unit (处置单位) a case goes to, learned from a city's history.

A city's ~200 units are not 200 unrelated classes. Many exist once per district (龙华区城管局,
美兰区城管局 …): what the text says decides the *kind* of unit, where the case is decides which one.
So the model learns unit *families* (``{区}城管局``; a unit without a district prefix is its own
family) from the text, and jurisdiction — the district named in the case's fields or its text, or a
street/town/community known to lie in one — picks the family member. Rare district units borrow
the evidence of their whole family, and a district's unit never seen in this district's history is
still reached when its siblings elsewhere were seen.

Probabilities: ``P(unit) = Σ_family P(family | text) · P(unit | family, district)``, the second factor
the family's history restricted to the located district (the family's overall history when no
district is located or the family has no unit there).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from triage.classify.classifier import CategoryClassifier
from triage.classify.heads import LinearHead

DISTRICT_FAMILY = "{区}"
# Long and short forms of the same kind of unit, so 琼山区城市管理行政执法局 and 龙华区城管局 are one family.
UNIT_ALIASES: tuple[tuple[str, str], ...] = (
    ("城市管理行政执法局", "城管局"),
    ("城市管理局", "城管局"),
    ("生态环境保护局", "环保局"),
    ("环境保护局", "环保局"),
    ("人力资源和社会保障局", "人社局"),
    ("住房和城乡建设局", "住建局"),
    ("食品药品监督管理局", "食药监局"),
    ("文化体育和旅游发展局", "文体局"),
    ("人民政府", "政府"),
    ("办事处", "办"),
)
_PLACE_SUFFIX = re.compile(r"(街道办事处|街道办|街道|镇人民政府|镇政府|镇|社区居委会|居委会|村委会|社区|村)$")
_PLACE_IN_TEXT = r"(?:街道|镇|社区|村)"
_DISTRICT_PREFIX = re.compile(r"^([\u4e00-\u9fff]{2,3}[区县])")
# The case store's location fields (and the API's), read after the columns the model was trained
# with, so a case submitted through the service is located like a row of the city's export.
CASE_FIELDS: dict[str, str] = {"district": "辖区", "street": "镇街", "community": "村居", "address": "地址"}


def place_core(name: str) -> str:
    """``金贸街道办事处`` → ``金贸``: the name a citizen would write before 街道/镇/社区/村."""
    core = name.strip()
    while True:
        stripped = _PLACE_SUFFIX.sub("", core)
        if stripped == core:
            return core
        core = stripped


@dataclass
class Jurisdiction:
    """District names and the places (street, town, community) known to lie in each district."""

    districts: list[str]
    places: dict[str, str]  # place core name → district
    district_column: str | None = None
    place_columns: list[str] = field(default_factory=list)
    address_columns: list[str] = field(default_factory=list)

    @property
    def field_columns(self) -> list[str]:
        cols = [self.district_column] if self.district_column else []
        return cols + self.place_columns + self.address_columns

    def __post_init__(self) -> None:
        self._compile()

    def _compile(self) -> None:
        trained = self.field_columns
        self._columns = [(c, c) for c in trained] + [
            (c, label) for c, label in CASE_FIELDS.items() if c not in trained
        ]  # (field key, its name in the reason)
        names = sorted(self.districts, key=len, reverse=True)
        self._district_re = re.compile("|".join(map(re.escape, names))) if names else None
        cores = sorted((c for c in self.places if len(c) >= 2), key=len, reverse=True)
        self._place_re = (
            re.compile("(" + "|".join(map(re.escape, cores)) + ")" + _PLACE_IN_TEXT) if cores else None
        )

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._compile()

    def locate(self, text: str, fields: Mapping[str, object] | None = None) -> tuple[str | None, str]:
        """(district, why in Chinese) from the case's fields first, then its text; (None, "") if unknown."""
        fields = fields or {}
        for col, label in self._columns:
            value = str(fields.get(col) or "").strip()
            if not value:
                continue
            if self._district_re and (m := self._district_re.search(value)):
                return m.group(0), f"工单字段「{label}」为「{value[:20]}」"
            core = place_core(value)
            if core in self.places:
                return self.places[core], f"工单字段「{label}」为「{value[:20]}」，属{self.places[core]}"
            if self._place_re and (m := self._place_re.search(value)):
                return self.places[
                    m.group(1)
                ], f"工单字段「{label}」提到「{m.group(0)}」，属{self.places[m.group(1)]}"
        if self._district_re:
            found = Counter(self._district_re.findall(text))
            if found:
                name = found.most_common(1)[0][0]
                return name, f"诉求中提到「{name}」"
        if self._place_re and (m := self._place_re.search(text)):
            district = self.places[m.group(1)]
            return district, f"诉求中提到「{m.group(0)}」，属{district}"
        return None, ""


def learn_jurisdiction(
    units: Iterable[str],
    rows: Sequence[Mapping[str, object]],
    *,
    district_column: str | None,
    place_columns: Sequence[str] = (),
    address_columns: Sequence[str] = (),
) -> Jurisdiction:
    """Districts from the district column and from unit-name prefixes shared by ≥ 2 units; places
    from the place columns (and district units named after a street/town), kept when unambiguous."""
    prefixes = Counter(m.group(1) for u in set(units) if (m := _DISTRICT_PREFIX.match(u)))
    districts = {p for p, n in prefixes.items() if n >= 2}
    if district_column:
        seen = Counter(str(r.get(district_column) or "").strip() for r in rows)
        districts |= {d for d, n in seen.items() if d and n >= 2 and _DISTRICT_PREFIX.match(d)}
    homes: dict[str, set[str]] = {}

    def note(place: str, district: str) -> None:
        core = place_core(place)
        if len(core) >= 2 and core != district and core not in districts:
            homes.setdefault(core, set()).add(district)

    for r in rows:
        district = str(r.get(district_column) or "").strip() if district_column else ""
        if district in districts:
            for col in place_columns:
                if value := str(r.get(col) or "").strip():
                    note(value, district)
    for u in set(units):
        for d in districts:
            rest = u[len(d) :] if u.startswith(d) else ""
            if rest and _PLACE_SUFFIX.search(rest):
                note(rest, d)
    places = {core: next(iter(ds)) for core, ds in homes.items() if len(ds) == 1}
    return Jurisdiction(
        sorted(districts), places, district_column, list(place_columns), list(address_columns)
    )


def unit_family(unit: str, districts: Sequence[str]) -> tuple[str, str | None]:
    """(family, district) of a unit name: ``龙华区城管局`` → (``{区}城管局``, ``龙华区``)."""
    for d in districts:
        at = unit.find(d)
        if at == 0 or (0 < at <= 4 and unit[:at].endswith("市")):
            rest = unit[at + len(d) :]
            for long, short in UNIT_ALIASES:
                rest = rest.replace(long, short)
            return DISTRICT_FAMILY + rest, d
    return unit, None


@dataclass
class DepartmentSuggestion:
    top_k: list[tuple[str, float]]
    district: str | None
    reason: str
    rare: bool  # the top unit was seen fewer than ``min_count`` times in training


class DepartmentModel:
    """Unit suggestions from text (families) + jurisdiction (family member), sklearn-like.

    ``classes_`` are the units that can be suggested; labels in ``not_a_department`` never are.
    """

    def __init__(
        self,
        featurizer: CategoryClassifier,
        jurisdiction: Jurisdiction,
        *,
        not_a_department: Iterable[str] = (),
        min_count: int = 3,
        C: float = 1.0,
        class_weight: str | dict[Any, float] | None = None,
        calibration_cv: int = 3,
    ) -> None:
        self.featurizer = featurizer
        self.jurisdiction = jurisdiction
        self.not_a_department = frozenset(not_a_department)
        self.min_count = min_count
        self.C = C
        self.class_weight = class_weight
        self.calibration_cv = calibration_cv

    def fit(self, X: Sequence[Sequence[str]], units: Sequence[str]) -> DepartmentModel:
        """Fit on token lists and unit labels (rows with a not-a-department label must be left out)."""
        units = [str(u) for u in units]
        districts = self.jurisdiction.districts
        families = [unit_family(u, districts)[0] for u in units]
        counts = Counter(families)
        keep = [i for i, f in enumerate(families) if counts[f] >= self.min_count]
        self.left_out_ = sorted({units[i] for i, f in enumerate(families) if counts[f] < self.min_count})
        features = self.featurizer.features([X[i] for i in keep])
        self.head_ = LinearHead(C=self.C, class_weight=self.class_weight, calibration_cv=self.calibration_cv)
        self.head_.fit(features, [families[i] for i in keep])
        self.unit_counts_ = dict(Counter(units[i] for i in keep))
        self.classes_ = np.array(sorted(self.unit_counts_))
        self._build()
        return self

    def _build(self) -> None:
        """Family → unit matrices: overall history, and restricted to each district."""
        col = {u: j for j, u in enumerate(self.classes_)}
        fam_index = {f: i for i, f in enumerate(self.head_.classes_)}
        shape = (len(fam_index), len(col))
        prior = np.zeros(shape)
        by_district: dict[str, np.ndarray] = {}
        for unit, n in self.unit_counts_.items():
            family, district = unit_family(unit, self.jurisdiction.districts)
            prior[fam_index[family], col[unit]] += n
            if district is not None:
                by_district.setdefault(district, np.zeros(shape))[fam_index[family], col[unit]] += n
        self._prior = prior / prior.sum(axis=1, keepdims=True)
        self._local = {}
        for district, m in by_district.items():
            rows = m.sum(axis=1) > 0
            local = self._prior.copy()
            local[rows] = m[rows] / m[rows].sum(axis=1, keepdims=True)
            self._local[district] = local

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if "head_" in state:
            self._build()

    def _locate(
        self,
        X: Sequence[Sequence[str]],
        texts: Sequence[str] | None,
        fields: Sequence[Mapping[str, object] | None] | None,
    ) -> list[tuple[str | None, str]]:
        texts = texts if texts is not None else ["".join(d) for d in X]
        fields = fields if fields is not None else [None] * len(X)
        return [self.jurisdiction.locate(t, f) for t, f in zip(texts, fields, strict=True)]

    def _unit_proba(
        self, X: Sequence[Sequence[str]], located: Sequence[tuple[str | None, str]]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        family = self.head_.predict_proba(self.featurizer.features(X))
        out = np.empty((len(X), len(self.classes_)))
        keys = np.array([d or "" for d, _ in located])
        for key in np.unique(keys):
            rows = np.flatnonzero(keys == key)
            out[rows] = family[rows] @ self._local.get(key, self._prior)
        return out, family

    def predict_proba(
        self,
        X: Sequence[Sequence[str]],
        fields: Sequence[Mapping[str, object] | None] | None = None,
        texts: Sequence[str] | None = None,
    ) -> NDArray[np.float64]:
        return self._unit_proba(X, self._locate(X, texts, fields))[0]

    def predict(
        self,
        X: Sequence[Sequence[str]],
        fields: Sequence[Mapping[str, object] | None] | None = None,
        texts: Sequence[str] | None = None,
    ) -> NDArray[Any]:
        return np.asarray(self.classes_[np.argmax(self.predict_proba(X, fields, texts), axis=1)])

    def suggest(
        self,
        X: Sequence[Sequence[str]],
        texts: Sequence[str] | None = None,
        fields: Sequence[Mapping[str, object] | None] | None = None,
        k: int = 3,
    ) -> list[DepartmentSuggestion]:
        """Top-``k`` units per document with a Chinese reason naming the evidence."""
        located = self._locate(X, texts, fields)
        proba, family = self._unit_proba(X, located)
        # whole-batch numpy work first; the loop below only formats Python values
        order = np.argsort(-proba, axis=1)[:, :k]
        top_p = np.take_along_axis(proba, order, axis=1).tolist()
        best_families = self.head_.classes_[np.argmax(family, axis=1)].tolist()
        family_ps = family.max(axis=1).tolist()
        units = self.classes_.tolist()
        out = []
        for idx, values, best_family, family_p, (district, why) in zip(
            order.tolist(), top_p, best_families, family_ps, located, strict=True
        ):
            top = [(units[j], round(p, 4)) for j, p in zip(idx, values, strict=True)]
            best_family = str(best_family)
            unit = top[0][0]
            named = best_family.replace(DISTRICT_FAMILY, "各区")
            parts = [f"历史工单中相似诉求多由「{named}」处置（模型概率{family_p:.0%}）"]
            if best_family.startswith(DISTRICT_FAMILY):
                if district and unit.find(district) >= 0:
                    parts.append(f"辖区为{district}（{why}），故选「{unit}」")
                else:
                    parts.append("未能确定辖区，按历史分布选取，请核对辖区")
            rare = self.unit_counts_.get(unit, 0) < self.min_count
            if rare:
                parts.append(f"「{unit}」历史工单少于{self.min_count}件，建议人工确认")
            out.append(DepartmentSuggestion(top, district, "；".join(parts), rare))
        return out
