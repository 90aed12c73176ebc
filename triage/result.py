"""The one result object every pipeline stage fills in (spaCy's ``Doc`` idea).

API responses, stored suggestions and batch output rows are all views of this object.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, is_dataclass
from typing import Any


@dataclass(slots=True)
class CategoryScore:
    label: str
    probability: float


@dataclass(slots=True)
class RouteOption:
    """One possible destination: a department at a handling level with a deadline."""

    department_code: str
    department: str
    level: str  # 网格 / 社区 / 街道 / 区 / 市
    deadline_hours: int
    category: str
    subcategory: str | None = None
    reason: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class RouteDecision:
    """What the routing stage decided, with the reason and the runner-up options."""

    category: str
    subcategory: str | None
    department_code: str
    department: str
    level: str
    deadline_hours: int
    priority: str  # "urgent" | "high" | "normal"
    # {"source": "rule", "rule_id", "rule_name", "matched_terms"} or {"source": "model", ...}
    reason: dict[str, Any]
    alternatives: list[RouteOption] = field(default_factory=list)


@dataclass(slots=True)
class DuplicateCandidate:
    case_id: str
    score: float  # in [0, 1]: the same-matter scorer's probability (triage.dedup.matter_score)
    reason: str = ""  # why, for the reviewer: "同一地点：南门广场；同类问题：噪音；3 天前"


@dataclass(slots=True)
class TriageResult:
    """Everything the engine knows about one message. Stages fill fields in order."""

    text: str  # normalised text
    masked_text: str = ""
    tokens: list[str] = field(default_factory=list)
    # classify stage
    category: str = ""
    confidence: float = 0.0
    top_k: list[CategoryScore] = field(default_factory=list)
    explanation: list[str] = field(default_factory=list)
    needs_review: bool = True
    model_category: str = ""  # the classifier's own top label, before routing rules
    # route stage
    # The model's probability of the decided ``category``. ``confidence`` stays the model's top-1
    # probability (review threshold, auto-dispatch); when a keyword rule moves the case to another
    # category, this is what may be shown next to that category. None: no model opinion (abstained).
    category_probability: float | None = None
    subcategory: str | None = None
    department_code: str = ""
    department: str = ""
    level: str = ""
    deadline_hours: int = 0
    priority: str = "normal"
    route_reason: dict[str, Any] = field(default_factory=dict)
    route_alternatives: list[RouteOption] = field(default_factory=list)
    # duplicate stage
    duplicates: list[DuplicateCandidate] = field(default_factory=list)
    model_version: str = ""
    # heads of a city profile's bundle (empty / None with a single-head bundle such as TipDM's)
    category_path: list[str] = field(default_factory=list)  # level 1 first, agrees with ``category``
    request_type: str | None = None  # e.g. 投诉类; a confident 紧急类 raised ``priority``
    request_type_probability: float | None = None
    department_top_k: list[tuple[str, float]] = field(default_factory=list)  # (unit name, probability)
    department_reason: str = ""  # why that unit, in Chinese (model, jurisdiction, rules)
    department_confidence: float | None = None  # the probability compared with auto-dispatch
    fields: dict[str, str] = field(default_factory=dict)  # case fields given with the text (辖区 …)

    def to_dict(self, *, include_tokens: bool = False) -> dict[str, Any]:
        out = asdict(self)
        if not include_tokens:
            out.pop("tokens")
        return out


def probability_of(label: str, top_k: Sequence[CategoryScore | Mapping[str, Any]]) -> float | None:
    """The probability ``top_k`` gives ``label`` (scores or their stored dicts), None when not listed."""
    for score in top_k:
        if isinstance(score, CategoryScore):
            if score.label == label:
                return float(score.probability)
        elif score.get("label") == label and score.get("probability") is not None:
            return float(score["probability"])
    return None


def plain(value: Any) -> Any:
    """Result dataclasses (CategoryScore, RouteOption …) and lists of them → JSON-ready values."""
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value
