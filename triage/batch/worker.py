"""Code that runs inside batch workers (pool processes or Dask workers).

Each worker process keeps one :class:`~triage.pipeline.Triager` per model spec, loaded on
first use (or by :func:`warm` when the pool starts), so the model is loaded once per worker,
not once per chunk. Results travel back as small plain dicts.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from triage.dedup.sketch import TEMPLATES_KEY
from triage.errors import InputError
from triage.heap import freeze_loaded_objects
from triage.result import plain
from triage.route.explain import reason_text

_LOCK = threading.RLock()  # re-entrant: a factory may wrap another spec's triager
_TRIAGERS: dict[ModelSpec, Any] = {}

# Columns a classify job adds to every output row, in order. ``confidence`` is the model's top-1
# probability (the review threshold); ``category_probability`` the model's probability of the decided
# ``category``, which differs when a keyword rule chose it; ``route_reason`` says why, in Chinese.
RESULT_COLUMNS = [
    "category",
    "subcategory",
    "confidence",
    "top2_category",
    "top2_confidence",
    "model_category",
    "category_probability",
    "department",
    "department_code",
    "level",
    "deadline_hours",
    "priority",
    "route_reason",
    "needs_review",
    "duplicate_group",
    "duplicate_score",
    "model_version",
]


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """What a worker needs to build its triager (paths must be valid on the worker)."""

    model_path: str | None = None
    routing_path: str | None = None
    factory: str | None = None  # "module:callable" building a custom triager (custom stages, tests)


def spec_of(options: Any) -> ModelSpec:
    """The model spec of a job's options (model_path, routing_path, triager_factory)."""

    def text(value: Any) -> str | None:
        return str(value) if value else None

    return ModelSpec(
        text(getattr(options, "model_path", None)),
        text(getattr(options, "routing_path", None)),
        text(getattr(options, "triager_factory", None)),
    )


def get_triager(spec: ModelSpec) -> Any:
    """The worker's triager for ``spec``; without a duplicate stage (batch jobs dedup centrally)."""
    triager = _TRIAGERS.get(spec)
    if triager is None:
        with _LOCK:  # Dask threads share a process: load once
            triager = _TRIAGERS.get(spec)
            if triager is None:
                triager = _build(spec)
                if "duplicates" in triager.stage_names:
                    triager.remove_stage("duplicates")
                _TRIAGERS[spec] = triager
                freeze_loaded_objects()
    return triager


def _build(spec: ModelSpec) -> Any:
    if spec.factory:
        from importlib import import_module

        module, _, name = spec.factory.partition(":")
        return getattr(import_module(module), name)(spec.model_path, routing_path=spec.routing_path)
    from triage.pipeline import Triager

    return Triager.load(spec.model_path, routing_path=spec.routing_path)


def warm(spec: ModelSpec) -> str:
    """Pool initializer: load the model before the first chunk arrives."""
    return get_triager(spec).model_version


def model_version(spec: ModelSpec, _payload: object = None) -> str:
    return get_triager(spec).model_version


def duplicate_templates(spec: ModelSpec, _payload: object = None) -> list[int]:
    """The bundle's template trigrams, so a job's file-duplicate groups see what the service's index sees."""
    bundle = getattr(get_triager(spec), "bundle", None)  # a custom factory's triager may have none
    return list(bundle.metadata.get(TEMPLATES_KEY, ())) if bundle is not None else []


def model_facts(spec: ModelSpec, _payload: object = None) -> tuple[str, list[int]]:
    return model_version(spec), duplicate_templates(spec)


def engine_model_facts(engine: Any, spec: ModelSpec) -> tuple[str, list[int]]:
    """(model version, template trigrams) of the workers' model, in one round trip to a worker."""
    version, templates = next(iter(engine.map(model_facts, [(None, None)], spec)))[1]
    return str(version), list(templates)


def error_row(exc: InputError) -> dict[str, Any]:
    return {"error_code": exc.code, "error": exc.message}


def result_row(result: Any) -> dict[str, Any]:
    """The output fields of one :class:`~triage.result.TriageResult` (plus its normalised text)."""
    top = result.top_k
    second = top[1] if len(top) > 1 else None
    probability = result.category_probability
    return {
        "category": result.category,
        "subcategory": result.subcategory or "",
        "confidence": round(float(result.confidence), 4),
        "top2_category": second.label if second else "",
        "top2_confidence": round(float(second.probability), 4) if second else None,
        "model_category": result.model_category,
        "category_probability": round(float(probability), 4) if probability is not None else None,
        "department": result.department,
        "department_code": result.department_code,
        "level": result.level,
        "deadline_hours": result.deadline_hours,
        "priority": result.priority,
        "route_reason": reason_text(result.route_reason),  # the sentence; suggest_chunk sends the dict
        "needs_review": bool(result.needs_review),
        "model_version": result.model_version,
        "top_k": [[s.label, s.probability] for s in top],
        "text": result.text,
    }


@dataclass(slots=True)
class LocatedTexts:
    """A chunk's texts with each row's case fields (辖区, 镇街, district, street …): a city's
    department model reads jurisdiction from them."""

    texts: list[str]
    fields: list[dict[str, str]]


Chunk = list[str] | LocatedTexts


def _triage_chunk(spec: ModelSpec, chunk: Chunk) -> list[Any]:
    triager = get_triager(spec)
    if not isinstance(chunk, LocatedTexts):
        return triager.triage_many(chunk, skip_invalid=True)
    if any(chunk.fields):  # only then: a custom factory's triager may not take fields
        return triager.triage_many(chunk.texts, skip_invalid=True, fields=chunk.fields)
    return triager.triage_many(chunk.texts, skip_invalid=True)


def classify_chunk(spec: ModelSpec, texts: Chunk) -> list[dict[str, Any]]:
    """Triage one chunk; a bad text comes back as an error row in its position."""
    out: list[dict[str, Any]] = []
    for item in _triage_chunk(spec, texts):
        out.append(error_row(item) if isinstance(item, InputError) else result_row(item))
    return out


def suggest_chunk(spec: ModelSpec, texts: Chunk) -> list[dict[str, Any]]:
    """Like :func:`classify_chunk`, with everything a stored case suggestion holds."""
    out: list[dict[str, Any]] = []
    for item in _triage_chunk(spec, texts):
        if isinstance(item, InputError):
            out.append(error_row(item))
            continue
        row = result_row(item)
        del row["text"]
        del row["route_reason"]  # the stored suggestion keeps the reason itself (below), not its wording
        row.update(
            model_category=item.model_category or None,
            top_k_dicts=plain(item.top_k),
            explanation=list(item.explanation),
            route_reason=plain(item.route_reason),
            route_alternatives=plain(item.route_alternatives),
        )
        out.append(row)
    return out
