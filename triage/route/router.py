"""Department routing: category + keyword rules → department, handling level, deadline, priority.

Routing is graded ("小事不出网格、大事不出社区"): grassroots matters (litter, blocked stairwells,
neighbour disputes…) are caught by keyword rules and kept at the grid or community, while the
classifier's category sends everything else to the responsible district or city body. The
decision order is: matching rule (highest precedence) → confident department model → the
category's configured department (refined to a second-level category by hint terms) → default.
Urgency is a property of the message, not of the destination: the decision takes the most urgent
priority of all matching rules, and the priority caps the deadline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from triage.errors import InputError
from triage.result import CategoryScore, RouteDecision, RouteOption
from triage.route.config import PRIORITIES, PRIORITY_RANK, LoadedConfig, load_config
from triage.route.match import TermMatcher
from triage.text.tokenizer import USE_HMM, get_tokenizer, stopwords, tokenize

_Hints = dict[str, tuple[str, list[str]]]  # first-level category → (second-level, hint terms found)


@dataclass(frozen=True, slots=True)
class Department:
    code: str
    name: str
    level: str
    parent: str | None
    aliases: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "level": self.level, "parent": self.parent}


@dataclass(frozen=True, slots=True)
class _Target:
    department: str
    level: str
    deadline_hours: int


@dataclass(frozen=True, slots=True)
class _Rule:
    id: str
    name: str  # Chinese label (routing.toml ``name``): what pages, exports and reasons show
    order: int
    terms: frozenset[str]
    all_of: tuple[frozenset[str], ...]  # each group: at least one of its terms must occur
    none_of: frozenset[str]
    category: str | None
    subcategory: str | None
    target: _Target
    priority: str
    precedence: int


class Router:
    """Routes one triaged message; built once from a validated ``routing.toml``."""

    def __init__(self, loaded: LoadedConfig) -> None:
        spec = loaded.spec
        self.source = loaded.source
        self.version = spec.router.version
        self._spec = spec
        self._departments = {
            d.code: Department(d.code, d.name, d.level, d.parent, tuple(d.aliases)) for d in spec.departments
        }
        self._level_deadline: dict[str, int] = dict(spec.levels.items())
        self._priority_cap: dict[str, int] = dict(spec.priorities.items())
        self._default = spec.router.default_department
        self._threshold = spec.router.department_model_threshold
        self._max_alternatives = spec.router.max_alternatives
        self._cat: dict[str, _Target] = {}
        self._sub: dict[tuple[str, str], _Target] = {}
        self._hint_index: dict[str, list[tuple[str, int, str]]] = {}  # term → (category, order, sub)
        hint_terms: set[str] = set()
        for name, cat in spec.categories.items():
            self._cat[name] = self._target(cat.department, cat.level, cat.deadline_hours)
            for order, (sub_name, sub) in enumerate(cat.sub.items()):
                self._sub[(name, sub_name)] = self._target(sub.department, sub.level, sub.deadline_hours)
                for term in set(sub.hints):
                    self._hint_index.setdefault(term, []).append((name, order, sub_name))
                    hint_terms.add(term)
        self._rules: list[_Rule] = []
        self._term_rules: dict[str, list[_Rule]] = {}
        for i, r in enumerate(spec.rules):
            groups = tuple(frozenset(g) if isinstance(g, list) else frozenset((g,)) for g in r.all_of)
            rule = _Rule(
                id=r.id,
                name=r.name,
                order=i,
                terms=frozenset(r.terms),
                all_of=groups,
                none_of=frozenset(r.none_of),
                category=r.category,
                subcategory=r.subcategory,
                target=self._target(r.department, r.level, r.deadline_hours),
                priority=r.priority,
                precedence=r.precedence,
            )
            self._rules.append(rule)
            for term in rule.terms:
                self._term_rules.setdefault(term, []).append(rule)
        all_terms = set(hint_terms)
        for rule in self._rules:
            all_terms |= rule.terms.union(rule.none_of, *rule.all_of)
        jieba = get_tokenizer()
        self._matcher = TermMatcher(
            all_terms, dropped_tokens=stopwords(), segment=lambda s: jieba.lcut(s, HMM=USE_HMM)
        )
        self._aliases = sorted(
            ((alias, d.code) for d in self._departments.values() for alias in (d.name, *d.aliases)),
            key=lambda pair: -len(pair[0]),
        )

    @classmethod
    def load(cls, path: Path | str | None = None) -> Router:
        """Load and validate ``path`` (None: the ``routing.toml`` shipped in ``triage/resources``)."""
        return cls(load_config(path))

    def _target(self, department: str, level: str | None, deadline: int | None) -> _Target:
        level = level or self._departments[department].level
        return _Target(department, level, deadline or self._level_deadline[level])

    # -- lookups used by the case store, the API and training ---------------------------------------

    def categories(self) -> dict[str, list[str]]:
        """First-level category → its second-level categories, in config order."""
        return {name: list(cat.sub) for name, cat in self._spec.categories.items()}

    def departments(self) -> list[Department]:
        """All departments, parents before children (so they can be inserted in this order)."""
        out: list[Department] = []
        placed: set[str] = set()
        pending = list(self._departments.values())
        while pending:  # the config is validated to be a forest, so every pass places at least one
            rest = [d for d in pending if d.parent is not None and d.parent not in placed]
            for d in pending:
                if d.parent is None or d.parent in placed:
                    out.append(d)
                    placed.add(d.code)
            pending = [d for d in rest if d.code not in placed]
        return out

    def department(self, code: str) -> Department | None:
        return self._departments.get(code)

    def level_deadline(self, level: str) -> int | None:
        """The default deadline in hours of a handling level (None for an unknown level)."""
        return self._level_deadline.get(level)

    def rule_ids(self) -> list[str]:
        return [r.id for r in self._rules]

    def rule_names(self) -> dict[str, str]:
        """Rule id → its Chinese name, for reasons stored before rules had names (look-up by id)."""
        return {r.id: r.name for r in self._rules}

    def is_known_category(self, name: str, subcategory: str | None = None) -> bool:
        """``name`` is a first-level category (and ``subcategory``, if given, one of its children)."""
        if subcategory is None:
            return name in self._cat
        return (name, subcategory) in self._sub

    def deadline_for(self, category: str, subcategory: str | None = None, priority: str = "normal") -> int:
        """Deadline in hours for a (sub)category, capped by the priority's limit."""
        if priority not in self._priority_cap:
            raise InputError(
                f"unknown priority {priority!r}; use one of {', '.join(PRIORITIES)}",
                code="unknown_priority",
                field="priority",
            )
        target = self._category_target(category, subcategory)
        return min(target.deadline_hours, self._priority_cap[priority])

    def aliases(self) -> list[tuple[str, str]]:
        """(name or alias, department code) pairs, longest name first."""
        return list(self._aliases)

    def resolve_department(self, unit_name: str) -> str | None:
        """Department code for a unit name as written in a reply ("A7县住建局" → housing).

        The alias ending last wins (so "公安局交警大队" is the traffic police, not the police), and among
        those the longest.
        """
        best: tuple[int, int, str] | None = None
        for alias, code in self._aliases:
            end = unit_name.rfind(alias)
            if end >= 0:
                key = (end + len(alias), len(alias), code)
                if best is None or key[:2] > best[:2]:
                    best = key
        return best[2] if best else None

    def _category_target(self, category: str, subcategory: str | None) -> _Target:
        if subcategory is not None and (category, subcategory) in self._sub:
            return self._sub[(category, subcategory)]
        if category in self._cat:
            return self._cat[category]
        return self._target(self._default, None, None)

    # -- routing ---------------------------------------------------------------------------------------

    def route(
        self,
        text: str,
        tokens: Sequence[str] | None,
        top_k: Sequence[CategoryScore],
        department_scores: Sequence[tuple[str, float]] | None = None,
    ) -> RouteDecision:
        """Route one message. ``tokens`` must be ``tokenize(text)`` of the same text (empty: computed)."""
        found = self._matcher.find(text, tokens or tokenize(text))
        rules = self._matching_rules(found)
        hints = self._hint_hits(found) if found else {}
        priority = min((r.priority for r, _ in rules), key=PRIORITY_RANK.__getitem__, default="normal")
        model = self._model_option(top_k, hints, priority)
        dept = self._department_option(department_scores, top_k, hints, priority)
        if rules:
            chosen = self._rule_option(rules[0][0], rules[0][1], top_k, hints, priority)
            urgent_rule = next(r for r, _ in rules if r.priority == priority)
            if urgent_rule is not rules[0][0]:
                chosen.reason["priority_rule"] = urgent_rule.id
                chosen.reason["priority_rule_name"] = urgent_rule.name
            others = [self._rule_option(r, m, top_k, hints, priority) for r, m in rules[1:]]
            others += [o for o in (dept, model) if o is not None]
        elif dept is not None and dept.reason["probability"] >= self._threshold:
            chosen, others = dept, [model]
        else:
            chosen, others = model, [o for o in (dept,) if o is not None]
        others += [self._category_option(s, hints, priority) for s in top_k[1:]]
        return RouteDecision(
            category=chosen.category,
            subcategory=chosen.subcategory,
            department_code=chosen.department_code,
            department=chosen.department,
            level=chosen.level,
            deadline_hours=chosen.deadline_hours,
            priority=priority,
            reason=chosen.reason,
            alternatives=self._distinct(chosen, others),
        )

    def route_many(
        self,
        texts: Sequence[str],
        tokens: Sequence[Sequence[str]] | None,
        top_k: Sequence[Sequence[CategoryScore]],
        department_scores: Sequence[Sequence[tuple[str, float]] | None] | None = None,
    ) -> list[RouteDecision]:
        n = len(texts)
        tokens = tokens if tokens is not None else [()] * n
        department_scores = department_scores if department_scores is not None else [None] * n
        if not (len(tokens) == len(top_k) == len(department_scores) == n):
            raise InputError(
                "route_many: texts, tokens, top_k and department_scores differ in length",
                code="length_mismatch",
                field="texts",
            )
        return [
            self.route(t, tok, tk, ds)
            for t, tok, tk, ds in zip(texts, tokens, top_k, department_scores, strict=True)
        ]

    def _matching_rules(self, found: set[str]) -> list[tuple[_Rule, list[str]]]:
        candidates: dict[int, _Rule] = {}
        for term in found:
            for rule in self._term_rules.get(term, ()):
                candidates[rule.order] = rule
        out = []
        for rule in candidates.values():
            if all(group & found for group in rule.all_of) and not (rule.none_of & found):
                out.append((rule, sorted(rule.terms & found)))
        out.sort(key=lambda rm: (-rm[0].precedence, PRIORITY_RANK[rm[0].priority], -len(rm[1]), rm[0].order))
        return out

    def _hint_hits(self, found: set[str]) -> dict[str, tuple[str, list[str]]]:
        """Per first-level category, the second-level category whose hint terms occur most often
        (config order breaks ties), with those terms."""
        hits: dict[str, dict[tuple[int, str], list[str]]] = {}
        for term in found:
            for cat, order, sub in self._hint_index.get(term, ()):
                hits.setdefault(cat, {}).setdefault((order, sub), []).append(term)
        out = {}
        for cat, subs in hits.items():
            (_, sub), terms = min(subs.items(), key=lambda kv: (-len(kv[1]), kv[0][0]))
            out[cat] = (sub, sorted(terms))
        return out

    def _option(
        self, target: _Target, category: str, sub: str | None, priority: str, reason: dict[str, Any]
    ) -> RouteOption:
        dept = self._departments[target.department]
        deadline = min(target.deadline_hours, self._priority_cap[priority])
        return RouteOption(dept.code, dept.name, target.level, deadline, category, sub, reason)

    def _rule_option(
        self, rule: _Rule, matched: list[str], top_k: Sequence[CategoryScore], hints: _Hints, priority: str
    ) -> RouteOption:
        category, sub = rule.category, rule.subcategory
        if category is None:
            category = top_k[0].label if top_k else ""
        if sub is None:
            sub = hints.get(category, (None,))[0]
        reason = {"source": "rule", "rule_id": rule.id, "rule_name": rule.name, "matched_terms": matched}
        return self._option(rule.target, category, sub, priority, reason)

    def _category_option(self, score: CategoryScore, hints: _Hints, priority: str) -> RouteOption:
        reason: dict[str, Any] = {
            "source": "model",
            "category": score.label,
            "probability": score.probability,
        }
        if score.label not in self._cat:
            reason["source"] = "default"
            return self._option(self._category_target(score.label, None), score.label, None, priority, reason)
        sub, terms = hints.get(score.label, (None, []))
        if terms:
            reason["hint_terms"] = terms
        return self._option(self._category_target(score.label, sub), score.label, sub, priority, reason)

    def _model_option(self, top_k: Sequence[CategoryScore], hints: _Hints, priority: str) -> RouteOption:
        if not top_k:
            reason = {"source": "default", "category": None, "probability": 0.0}
            return self._option(self._category_target("", None), "", None, priority, reason)
        return self._category_option(top_k[0], hints, priority)

    def _department_option(
        self,
        scores: Sequence[tuple[str, float]] | None,
        top_k: Sequence[CategoryScore],
        hints: _Hints,
        priority: str,
    ) -> RouteOption | None:
        known = [(c, float(p)) for c, p in scores or () if c in self._departments]
        if not known:
            return None
        code, prob = max(known, key=lambda cp: cp[1])
        category = top_k[0].label if top_k else ""
        sub = hints.get(category, (None,))[0]
        target = self._category_target(category, sub)
        if target.department != code:
            target = self._target(code, None, None)
        reason = {
            "source": "department_model",
            "department_code": code,
            "probability": prob,
            "category": category,
            "category_probability": top_k[0].probability if top_k else 0.0,
        }
        return self._option(target, category, sub, priority, reason)

    def _distinct(self, chosen: RouteOption, others: list[RouteOption]) -> list[RouteOption]:
        seen = {(chosen.department_code, chosen.category)}
        out = []
        for opt in others:
            key = (opt.department_code, opt.category)
            if key not in seen:
                seen.add(key)
                out.append(opt)
        return out[: self._max_alternatives]
