"""The triage pipeline: named stages over one :class:`TriageResult` per message.

``Triager.load()`` builds the default pipeline (intake → tokenize → classify → route →
duplicates). Each stage is a small object with a ``name`` and ``__call__(results)`` that
fills fields of a batch of results in place, so a stage can be replaced or removed
without touching the others (spaCy's pipeline idea). The API, the web UI and batch jobs
all call :meth:`Triager.triage` / :meth:`Triager.triage_many`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from triage.classify.bundle import ModelBundle, load_bundle
from triage.classify.department import DepartmentModel
from triage.config import DEFAULT_REVIEW_THRESHOLD, DEFAULT_TOP_K, Settings, get_settings
from triage.dedup.lexical import DuplicateIndex
from triage.dedup.matter import MatterIndex, build_duplicate_index
from triage.dedup.sketch import TEMPLATES_KEY
from triage.errors import InputError
from triage.result import CategoryScore, TriageResult, probability_of
from triage.route.router import Router
from triage.text.intake import has_chinese, read_text
from triage.text.masking import mask_pii, mask_terms
from triage.text.tokenizer import tokenize

log = logging.getLogger(__name__)

# The model abstains on text it cannot read: no category, needs review, routed by a person.
ABSTAIN_NO_CHINESE = {"source": "abstain", "reason": "no_chinese", "message": "无中文内容，需人工分拨"}


class Stage(Protocol):
    name: str

    def __call__(self, results: list[TriageResult]) -> None: ...


class TokenizeStage:
    """jieba tokens shared by every later stage (tokenize once)."""

    name = "tokenize"

    def __call__(self, results: list[TriageResult]) -> None:
        for r in results:
            r.tokens = tokenize(r.text)


class ClassifyStage:
    """Category probabilities, top-k, explanation and the needs-review flag."""

    name = "classify"

    def __init__(
        self,
        bundle: ModelBundle,
        *,
        top_k: int = DEFAULT_TOP_K,
        review_threshold: float = DEFAULT_REVIEW_THRESHOLD,
    ) -> None:
        self.bundle = bundle
        self.top_k = top_k
        self.review_threshold = review_threshold
        self.model_version = str(bundle.metadata.get("model_version", "unknown"))

    def __call__(self, results: list[TriageResult]) -> None:
        model = self.bundle.category
        token_lists = [r.tokens for r in results]
        proba = model.predict_proba(token_lists)
        order = np.argsort(-proba, axis=1)[:, : self.top_k]
        best = order[:, 0]
        explanations = model.explain(token_lists, best, n_terms=5)
        classes = [str(c) for c in model.classes_]
        top_p = np.take_along_axis(proba, order, axis=1).tolist()  # Python floats: no per-row numpy
        for r, idx, values, terms in zip(results, order.tolist(), top_p, explanations, strict=True):
            r.top_k = [CategoryScore(classes[i], round(p, 4)) for i, p in zip(idx, values, strict=True)]
            r.model_category = r.category = r.top_k[0].label
            r.confidence = r.top_k[0].probability
            r.explanation = mask_terms(terms)  # terms are cut from the raw text: shown, so masked
            r.needs_review = r.confidence < self.review_threshold
            r.model_version = self.model_version
        self._heads(results, token_lists)

    def _heads(self, results: list[TriageResult], token_lists: list[list[str]]) -> None:
        """Category path and request type of a city bundle (they reuse the features computed above)."""
        if (hierarchy := self.bundle.hierarchy) is not None:
            paths = hierarchy.best_paths(token_lists, [r.model_category for r in results])
            for r, path in zip(results, paths, strict=True):
                r.category_path = path
        if (types := self.bundle.request_type) is not None:
            proba = types.predict_proba(token_lists)
            best = np.argmax(proba, axis=1)
            labels = types.classes_[best].tolist()
            for r, label, p in zip(results, labels, proba[np.arange(len(best)), best].tolist(), strict=True):
                r.request_type = str(label)
                r.request_type_probability = round(p, 4)


class RouteStage:
    """Department, handling level, deadline and priority from the routing configuration.

    With a city bundle the department model's top-k (history + jurisdiction) is offered to the router
    under the routing file's codes: a keyword rule still wins, a confident model suggestion comes
    next, then the category's configured department. A confident urgent request type raises priority.
    """

    name = "route"

    def __init__(
        self, router: Router, bundle: ModelBundle | None = None, *, top_k: int = DEFAULT_TOP_K
    ) -> None:
        self.router = router
        self.bundle = bundle
        self.department_model = bundle.department if bundle is not None else None
        self.top_k = top_k
        self._codes = {name: code for name, code in router.aliases()}  # exact unit name → code

    def _department_scores(self, results: list[TriageResult]) -> list[list[tuple[str, float]] | None]:
        model = self.department_model
        if model is None:
            return [None] * len(results)
        if isinstance(model, DepartmentModel):
            tokens, texts = [r.tokens for r in results], [r.text for r in results]
            found = model.suggest(tokens, texts, [r.fields for r in results], self.top_k)
            out: list[list[tuple[str, float]] | None] = []
            for r, s in zip(results, found, strict=True):
                r.department_top_k = list(s.top_k)
                r.department_reason = s.reason
                out.append([(self._codes.get(u, u), p) for u, p in s.top_k])
            return out
        proba = model.predict_proba([r.tokens for r in results])
        classes = model.classes_
        return [[(str(classes[i]), float(row[i])) for i in np.argsort(-row)[:3]] for row in proba]

    def __call__(self, results: list[TriageResult]) -> None:
        for r, dept_scores in zip(results, self._department_scores(results), strict=True):
            d = self.router.route(r.text, r.tokens, r.top_k, dept_scores)
            r.category = d.category
            r.subcategory = d.subcategory
            r.department_code = d.department_code
            r.department = d.department
            r.level = d.level
            r.deadline_hours = d.deadline_hours
            r.priority = d.priority
            r.route_reason = d.reason
            r.route_alternatives = d.alternatives
            if d.category != r.model_category and d.reason.get("source") == "rule":
                # A keyword rule moved the case to another category: a human should confirm.
                r.needs_review = True
                if r.category_path:
                    r.category_path = [d.category] + ([d.subcategory] if d.subcategory else [])
            if r.department_top_k:
                self._explain_department(r, dept_scores or [])
            self._urgency(r)
        self._category_probabilities(results)

    def _category_probabilities(self, results: list[TriageResult]) -> None:
        """The model's probability of each decided category, so a page never shows the model's
        top-1 probability next to a category a keyword rule chose.

        Usually the category is in ``top_k``; a rule's category outside it is scored again with the
        bundle (only those rows: rules rarely pick a category the model ranks that low), and one the
        model does not know has probability 0. Without a bundle it stays None (unknown). A rule's
        reason carries the figure too, so a stored case shows it without another column.
        """
        missing: list[TriageResult] = []
        for r in results:
            if not r.category:
                r.category_probability = None
                continue
            r.category_probability = probability_of(r.category, r.top_k)
            if r.category_probability is None:
                missing.append(r)
        if missing and self.bundle is not None:
            model = self.bundle.category
            classes = [str(c) for c in model.classes_]
            proba = model.predict_proba([r.tokens for r in missing]).tolist()
            for r, row in zip(missing, proba, strict=True):
                # a category the model was never trained on (政法 by rule only) has probability 0
                known = r.category in classes
                r.category_probability = round(float(row[classes.index(r.category)]), 4) if known else 0.0
        for r in results:
            if r.route_reason.get("source") == "rule":
                r.route_reason = {**r.route_reason, "category_probability": r.category_probability}

    def _explain_department(self, r: TriageResult, scores: list[tuple[str, float]]) -> None:
        """Confidence for auto-dispatch (only when the model's top unit is the one chosen) and why."""
        top_unit, top_p = r.department_top_k[0]
        source = r.route_reason.get("source")
        if source != "rule" and scores and self.router.department(scores[0][0]) is None:
            # the routing file does not list the unit the history points to: suggest it by name
            r.department = r.department_code = top_unit
            r.route_reason = {"source": "department_model", "department": top_unit, "probability": top_p}
            source = "department_model"
        if source == "department_model" and scores and r.department_code in (scores[0][0], top_unit):
            r.department_confidence = top_p
        elif source == "rule":
            terms = "、".join(r.route_reason.get("matched_terms", []))
            r.department_reason = (
                f"路由规则「{r.route_reason.get('rule_name')}」命中（{terms}），分拨至「{r.department}」；"
                f"模型建议「{top_unit}」（{top_p:.0%}）：{r.department_reason}"
            )
        else:
            r.department_reason = (
                f"模型建议「{top_unit}」（{top_p:.0%}）把握不足，按类别「{r.category}」的默认单位"
                f"「{r.department}」分拨：{r.department_reason}"
            )

    def _urgency(self, r: TriageResult) -> None:
        types = self.bundle.request_type if self.bundle is not None else None
        if types is None or r.request_type is None or r.priority == "urgent":
            return
        if types.is_urgent(r.request_type, r.request_type_probability or 0.0):
            r.priority = "urgent"
            cap = self.router.deadline_for(r.category, r.subcategory, "urgent")
            r.deadline_hours = min(r.deadline_hours, cap)
            r.route_reason = {**r.route_reason, "priority_from": "request_type"}


class DuplicateStage:
    """Candidates among existing cases (the index is owned and kept in step by the case store)."""

    name = "duplicates"

    def __init__(self, index: DuplicateIndex | MatterIndex, *, k: int = 5) -> None:
        self.index = index
        self.k = k
        self.now: datetime | None = None  # None: the index uses the current time

    def __call__(self, results: list[TriageResult]) -> None:
        if len(self.index) == 0:
            return
        texts = [r.text for r in results]
        if isinstance(self.index, MatterIndex):  # reuse the tokens and category already computed
            metas = [{"tokens": r.tokens, "category": r.category or None} for r in results]
            found = self.index.query_many(texts, now=self.now, k=self.k, metas=metas)
        else:
            found = self.index.query_many(texts, now=self.now, k=self.k)
        for r, candidates in zip(results, found, strict=True):
            r.duplicates = candidates


class Triager:
    """Runs the stages in order. Build with :meth:`load`; customise via ``replace``/``remove``."""

    # set by :meth:`load` (a Triager built from bare stages has neither)
    bundle: ModelBundle
    router: Router

    def __init__(self, stages: Sequence[Stage], *, max_text_chars: int | None = None) -> None:
        self.stages: list[Stage] = list(stages)
        self.max_text_chars = get_settings().max_text_chars if max_text_chars is None else max_text_chars

    @classmethod
    def load(
        cls,
        model_path: str | Path | None = None,
        *,
        routing_path: str | Path | None = None,
        duplicate_index: DuplicateIndex | None = None,
        settings: Settings | None = None,
    ) -> Triager:
        """Load the model bundle (default: the shipped model) and the routing configuration."""
        settings = settings or get_settings()
        bundle = load_bundle(Path(model_path) if model_path else settings.model_path)
        router = Router.load(Path(routing_path) if routing_path else settings.routing_path)
        templates = bundle.metadata.get(TEMPLATES_KEY, ())
        index = duplicate_index or build_duplicate_index(settings, templates)
        stages: list[Stage] = [
            TokenizeStage(),
            ClassifyStage(bundle, top_k=settings.top_k, review_threshold=settings.review_threshold),
            RouteStage(router, bundle, top_k=settings.top_k),
            DuplicateStage(index),
        ]
        triager = cls(stages, max_text_chars=settings.max_text_chars)
        triager.bundle = bundle
        triager.router = router
        return triager

    # -- stage management -------------------------------------------------------------
    @property
    def stage_names(self) -> list[str]:
        return [s.name for s in self.stages]

    def get_stage(self, name: str) -> Stage:
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise KeyError(f"no stage named {name!r}; stages: {self.stage_names}")

    def replace_stage(self, name: str, stage: Stage) -> None:
        self.stages[self.stage_names.index(name)] = stage

    def remove_stage(self, name: str) -> None:
        del self.stages[self.stage_names.index(name)]

    @property
    def duplicate_index(self) -> DuplicateIndex | MatterIndex:
        stage = self.get_stage("duplicates")
        assert isinstance(stage, DuplicateStage)
        return stage.index

    @property
    def model_version(self) -> str:
        return str(self.bundle.metadata.get("model_version", "unknown"))

    # -- running ------------------------------------------------------------------------
    def _new_result(self, text: str | bytes, field: str) -> TriageResult:
        stored, clean = read_text(text, field=field, max_chars=self.max_text_chars)
        result = TriageResult(text=clean, masked_text=mask_pii(stored))
        if not has_chinese(result.text):  # a foreign caller, an emoji-only forward: a human routes it
            result.route_reason = dict(ABSTAIN_NO_CHINESE)
        return result

    def _run(self, results: list[TriageResult]) -> None:
        results = [r for r in results if r.route_reason.get("source") != "abstain"]
        if results:
            for stage in self.stages:
                stage(results)

    def triage(self, text: str | bytes, *, fields: Mapping[str, Any] | None = None) -> TriageResult:
        """Triage one message; bad input raises :class:`InputError` naming the field.

        ``fields`` are the case's other cells (辖区, 镇街, 地址 …): a city's department model reads
        the jurisdiction columns it was trained with from them.
        """
        result = self._new_result(text, "text")
        result.fields = _field_strings(fields)
        self._run([result])
        return result

    def triage_many(
        self,
        texts: Iterable[str | bytes],
        *,
        skip_invalid: bool = False,
        fields: Sequence[Mapping[str, Any] | None] | None = None,
    ) -> list[TriageResult | InputError]:
        """Triage a batch with vectorised stages.

        With ``skip_invalid`` a bad text yields its :class:`InputError` in its position
        (batch jobs report it and carry on); otherwise the first bad text raises.
        """
        out: list[TriageResult | InputError] = []
        valid: list[TriageResult] = []
        for i, text in enumerate(texts):
            try:
                result = self._new_result(text, f"texts[{i}]")
            except InputError as exc:
                if not skip_invalid:
                    raise
                out.append(exc)
                continue
            if fields is not None:
                result.fields = _field_strings(fields[i])
            out.append(result)
            valid.append(result)
        self._run(valid)
        return out


def _field_strings(fields: Mapping[str, Any] | None) -> dict[str, str]:
    return {str(k): str(v).strip() for k, v in (fields or {}).items() if v is not None and str(v).strip()}
