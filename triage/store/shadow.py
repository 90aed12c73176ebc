"""Shadow suggestions: a candidate model triages every new case beside the live one, unseen.

The rows are written after the case is committed and in their own transaction: a failing or
slow candidate never changes what the live path stores or answers (errors are logged). Compare
the two with :func:`triage.store.model_registry.compare`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from triage.classify.dispatch import department_confidence
from triage.errors import InputError
from triage.store.db import Database
from triage.store.dupindex import index_text
from triage.store.models import Case, ModelVersion, ShadowSuggestion, utcnow

log = logging.getLogger(__name__)


class ShadowRunner:
    """Runs the registry's shadow model of a profile; ``triager`` needs ``triage_many``."""

    def __init__(self, db: Database, model: ModelVersion, triager: Any) -> None:
        self.db = db
        self.model = model
        self.triager = triager

    @classmethod
    def load(cls, db: Database, profile: str, settings: Any) -> ShadowRunner | None:
        """The profile's shadow model with the profile's routing file, or None when there is none."""
        from triage.pipeline import Triager
        from triage.store.model_registry import shadow_model

        try:
            row = shadow_model(db, profile)
        except Exception as exc:  # registry table missing (database before t003): no shadow
            log.warning("model registry unavailable (%s); no shadow model", exc)
            return None
        if row is None:
            return None
        triager = Triager.load(row.path, routing_path=settings.routing_path, settings=settings)
        triager.remove_stage("duplicates")  # the live path finds duplicates; the shadow only suggests
        return cls(db, row, triager)

    def suggestions(self, cases: Sequence[Case]) -> list[ShadowSuggestion]:
        limit = self.triager.max_text_chars  # as the live path: the model reads the start
        texts = [index_text(c.title, c.text)[:limit] for c in cases]
        now = utcnow()
        assert self.model.id is not None  # a registry row
        rows = []
        for case, result in zip(cases, self.triager.triage_many(texts, skip_invalid=True), strict=True):
            if isinstance(result, InputError) or case.id is None:
                continue
            rows.append(
                ShadowSuggestion(
                    case_id=case.id,
                    model_id=self.model.id,
                    category=result.category or None,
                    department_code=result.department_code or None,
                    department=result.department or None,
                    confidence=float(result.confidence),
                    department_confidence=department_confidence(result),
                    created_at=now,
                )
            )
        return rows

    def record(self, cases: Sequence[Case]) -> int:
        """Store the shadow's suggestions for committed ``cases``; never raises (returns the count)."""
        try:
            rows = self.suggestions(cases)
            with self.db.session(write=True) as session:
                session.add_all(rows)
            return len(rows)
        except Exception:
            log.exception("shadow model %s failed; the live suggestions are unaffected", self.model.version)
            return 0
