"""Intake: validate and triage new messages and store them as pending cases (and suggest without storing).

Triage runs outside any transaction; the cases, their numbers, their ``submit`` audit events and
any automatic dispatch commit in one transaction afterwards. ``submit_idempotent`` stores the
Idempotency-Key record in the case's own transaction, so a crash between "case stored" and
"response remembered" cannot happen and a retry never creates a second case, whichever process
it reaches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from triage.classify.department import CASE_FIELDS
from triage.config import Settings
from triage.errors import InputError
from triage.result import TriageResult
from triage.store import fulltext
from triage.store.autodispatch import AutoDispatchPolicy
from triage.store.catalog import DEFAULT_DEADLINE_HOURS, Catalog
from triage.store.dupindex import DuplicateIndexSync, model_text
from triage.store.errors import ValidationError, unknown_value
from triage.store.lifecycle import record
from triage.store.models import PRIORITY_RANK, Case, CaseStatus, Grid, Source
from triage.store.numbers import allocate
from triage.store.registry import claim_idempotency_key, idempotent_get, store_idempotent_response
from triage.store.shadow import ShadowRunner
from triage.store.suggestion import suggestion_columns
from triage.store.transaction import CaseTransaction
from triage.text.intake import accept_text, clean_text, normalize_text
from triage.text.masking import mask_pii

SYSTEM = "system"
_LIMITED = ("title", "reporter_name", "reporter_contact", "grid_code", "community", "street", "address")
_IDENTIFIERS = ("grid_code", "possible_duplicate_of")  # codes, not words: NFKC makes "Ｇ００１" match

__all__ = ["SYSTEM", "IdempotentOutcome", "SubmitService"]


def _field_value(name: str, value: Any) -> str | None:
    if value is None:
        return None
    return (normalize_text if name in _IDENTIFIERS else clean_text)(str(value)) or None


@dataclass(slots=True)
class IdempotentOutcome:
    """What a keyed submit answers: the stored response, and whether it is a replay."""

    status_code: int
    response: Any
    replayed: bool
    case: Case | None = None  # the case created by this call (None on a replay)


class _KeyTaken(Exception):
    """Another request stored the same Idempotency-Key first (rolls our transaction back)."""


class SubmitService:
    """submit / submit_idempotent / submit_many / suggest / location_fields."""

    def __init__(
        self,
        tx: CaseTransaction,
        catalog: Catalog | None,
        index: DuplicateIndexSync,
        *,
        triager: Any,
        settings: Settings,
        auto_dispatch: AutoDispatchPolicy,
        shadow: ShadowRunner | None = None,
    ) -> None:
        self.tx = tx
        self.catalog = catalog
        self.index = index
        self.triager = triager
        self.settings = settings
        self.auto_dispatch = auto_dispatch
        self.shadow = shadow

    def submit(
        self,
        text: str | bytes,
        *,
        title: str | None = None,
        source: str = Source.WEB.value,
        reporter_name: str | None = None,
        reporter_contact: str | None = None,
        grid_code: str | None = None,
        community: str | None = None,
        street: str | None = None,
        address: str | None = None,
        possible_duplicate_of: str | None = None,
        actor: str = SYSTEM,
    ) -> Case:
        """Triage ``text`` and store it as a pending case; the case is committed when this returns.

        The returned case carries the suggestion (``suggested_*``, ``confidence``, ``top_k`` …)
        and the duplicate candidates found among open cases (``duplicate_candidates``).
        ``possible_duplicate_of`` is the submitter's "this duplicates case …" for the reviewer
        (the caller checks that the submitter may see that case).
        """
        item = dict(
            text=text,
            title=title,
            source=source,
            reporter_name=reporter_name,
            reporter_contact=reporter_contact,
            grid_code=grid_code,
            community=community,
            street=street,
            address=address,
            possible_duplicate_of=possible_duplicate_of,
        )
        out = self.submit_many([item], actor=actor, skip_invalid=False)
        case = out[0]
        assert isinstance(case, Case)  # skip_invalid=False raises instead
        return case

    def submit_idempotent(
        self,
        text: str | bytes,
        *,
        idempotency_key: str,
        request_hash: str,
        owner: str,
        render: Callable[[Case], Any],
        status_code: int = 201,
        actor: str = SYSTEM,
        **fields: Any,
    ) -> IdempotentOutcome:
        """Submit once per (``owner``, ``idempotency_key``); later calls replay the answer.

        ``render(case)`` builds the response body inside the case's transaction, and the key,
        ``request_hash`` and that body are committed together with the case. A concurrent or
        later retry gets the stored body (``replayed``); the same key with a different
        ``request_hash`` raises ``idempotency_key_reused``.
        """
        db = self.tx.db
        key = f"{owner}:{idempotency_key}"
        row = idempotent_get(db, key, request_hash)
        if row is not None:
            return IdempotentOutcome(row.status_code, row.response, replayed=True)
        _, cases = self._triage_items([dict(fields, text=text)], skip_invalid=False)
        case, now = cases[0], cases[0].created_at
        out: dict[str, Any] = {}

        def _store(session: Session) -> None:
            if not claim_idempotency_key(session, key, request_hash, now):
                raise _KeyTaken
            self._store_cases(session, cases, actor, now)
            out["body"] = render(case)
            store_idempotent_response(session, key, out["body"], status_code=status_code)

        try:
            self.tx.write(_store)
        except _KeyTaken:
            row = idempotent_get(db, key, request_hash)
            assert row is not None  # committed by the request that beat us
            return IdempotentOutcome(row.status_code, row.response, replayed=True)
        self._stored(cases)
        return IdempotentOutcome(status_code, out["body"], replayed=False, case=case)

    def submit_many(
        self, items: Iterable[dict[str, Any]], *, actor: str = SYSTEM, skip_invalid: bool = True
    ) -> list[Case | InputError]:
        """Batch submit (vectorised triage, one transaction). Bad items yield their InputError."""
        prepared, cases = self._triage_items(items, skip_invalid=skip_invalid)
        if cases:
            self.tx.write(lambda session: self._store_cases(session, cases, actor, cases[0].created_at))
            self._stored(cases)
        it = iter(cases)
        return [next(it) if isinstance(p, dict) else p for p in prepared]

    def suggest(
        self,
        texts: Sequence[str | bytes],
        *,
        skip_invalid: bool = True,
        fields: Sequence[Mapping[str, Any] | None] | None = None,
    ) -> list[TriageResult | InputError]:
        """Suggestions only (nothing stored), with duplicates among every worker's open cases.

        ``fields`` (one mapping per text: district, street, community, address) locate each case
        for the department model, as at submit.
        """
        if self.triager is None:
            raise ValidationError("the service has no triager", code="no_triager", field="text")
        self.index.sync()
        with self.index.lock:
            out: list[TriageResult | InputError] = self.triager.triage_many(
                list(texts), skip_invalid=skip_invalid, fields=fields
            )
            return out

    def location_fields(self, item: dict[str, Any]) -> dict[str, str]:
        """The jurisdiction fields the engine reads (district, street, community, address) of an
        unsaved case, street and community filled from its ``grid_code`` as at submit."""
        out = {k: str(v).strip() for k in CASE_FIELDS if (v := item.get(k)) and str(v).strip()}
        if item.get("grid_code") and not (out.get("community") and out.get("street")):
            out.update(self._grid_location(str(item["grid_code"]), out))
        return {k: v for k, v in out.items() if v}

    # -- the steps --------------------------------------------------------------------------------
    def _stored(self, cases: list[Case]) -> None:
        """After the commit: the new cases become duplicate candidates; the shadow model suggests."""
        self.index.add(cases)
        if self.shadow is not None:
            self.shadow.record(cases)

    def _triage_items(
        self, items: Iterable[dict[str, Any]], *, skip_invalid: bool
    ) -> tuple[list[dict[str, Any] | InputError], list[Case]]:
        """Validate and triage (outside any transaction); the new cases have no number yet."""
        if self.triager is None:
            raise ValidationError(
                "the service has no triager; cannot submit", code="no_triager", field="text"
            )
        prepared: list[dict[str, Any] | InputError] = []
        for i, item in enumerate(items):
            try:
                prepared.append(self._prepare(item, f"items[{i}]" if skip_invalid else "text"))
            except InputError as exc:
                if not skip_invalid:
                    raise
                prepared.append(exc)
        valid = [p for p in prepared if isinstance(p, dict)]
        if valid:
            self.index.sync()  # see other workers' new cases as duplicate candidates
        limit = self.triager.max_text_chars  # title + text may pass it: the model reads the start
        results = self.triager.triage_many(
            [model_text(p["title"], p["text"])[:limit] for p in valid],
            fields=[{k: p.get(k) for k in CASE_FIELDS} for p in valid],  # jurisdiction for routing
        )
        now = self.tx.clock()
        cases = [self._new_case(p, r, now) for p, r in zip(valid, results, strict=True)]
        return prepared, cases

    def _store_cases(self, session: Session, cases: list[Case], actor: str, now: datetime) -> None:
        for case, number in zip(cases, allocate(session, now, len(cases)), strict=True):
            case.case_no = number
            case.submitted_by = actor
            session.add(case)
        session.flush()
        fulltext.index_cases(session, cases)  # searchable (q, phone) as soon as the case is committed
        for case in cases:
            after = {k: case.__dict__.get(k) for k in ("status", "source", "suggested_category", "priority")}
            record(session, case, actor=actor, action="submit", at=now, after=after)
            self.auto_dispatch.apply(session, case, now)  # audited; a no-op unless enabled and confident

    def _prepare(self, item: dict[str, Any], field: str) -> dict[str, Any]:
        source = str(item.get("source") or Source.WEB.value)
        if source not in {s.value for s in Source}:
            raise unknown_value("source", source, [s.value for s in Source], code="unknown_source")
        # Stored as typed (line breaks and control characters cleaned); the model normalises a copy.
        text = accept_text(item.get("text"), field=field, max_chars=self.settings.max_text_chars)
        out: dict[str, Any] = {k: _field_value(k, v) for k, v in item.items()}
        out.update(text=text, source=source)
        out.setdefault("title", None)
        columns = Case.__table__.c  # type: ignore[attr-defined]
        for name in _LIMITED:
            value, limit = out.get(name), columns[name].type.length
            if value and len(value) > limit:
                raise ValidationError(
                    f"{name} is too long ({len(value)} characters; the limit is {limit})",
                    code="too_long",
                    field=name,
                )
        if out.get("grid_code") and not (out.get("community") and out.get("street")):
            out.update(self._grid_location(out["grid_code"], out))
        return out

    def _grid_location(self, grid_code: str, item: dict[str, Any]) -> dict[str, Any]:
        with self.tx.db.session() as session:
            grid = session.get(Grid, grid_code)
        if grid is None:
            return {}
        return {
            "community": item.get("community") or grid.community,
            "street": item.get("street") or grid.street,
        }

    def _new_case(self, item: dict[str, Any], r: TriageResult, now: datetime) -> Case:
        hours = r.deadline_hours or (
            self.catalog.deadline_hours(r.category, r.subcategory, r.priority) if self.catalog else 0
        )
        hours = hours or DEFAULT_DEADLINE_HOURS
        priority = r.priority if r.priority in PRIORITY_RANK else "normal"
        return Case(
            case_no="",
            title=item["title"],
            text=item["text"],
            text_masked=mask_pii(item["text"]),
            source=item["source"],
            reporter_name=item.get("reporter_name"),
            reporter_contact=item.get("reporter_contact"),
            grid_code=item.get("grid_code"),
            community=item.get("community"),
            street=item.get("street"),
            address=item.get("address"),
            possible_duplicate_of=item.get("possible_duplicate_of"),
            created_at=now,
            updated_at=now,
            status=CaseStatus.PENDING_REVIEW.value,
            priority=priority,
            priority_rank=PRIORITY_RANK[priority],
            deadline_hours=hours,
            deadline=now + timedelta(hours=hours),
            duplicate_candidates=[
                {"case_no": d.case_id, "score": round(float(d.score), 4), "reason": d.reason}
                for d in r.duplicates
            ],
            **suggestion_columns(r, priority=priority, deadline_hours=hours),
            version=1,
        )
