"""``triage batch reclassify``: run the current model over stored cases.

For every selected case the new suggestion is stored in ``case_suggestions`` with its model
version, next to the suggestion that was in force before. Human decisions are never touched:

* unreviewed cases (pending review, not leased) get the new suggestion as their current one,
  through the store's audited :func:`~triage.store.lifecycle.change`;
* reviewed cases keep everything; when the reviewed category now disagrees with the model the
  suggestion row is ``flagged`` for re-review and a ``flag_rereview`` audit event is written
  (unless a reviewer already dismissed this very suggestion for this decision); reviewers answer
  flags through :mod:`triage.store.rereview`.

Cases are read in id order in chunks; each chunk's writes and the job checkpoint (last case id)
commit in one transaction, so ``resume=True`` neither loses nor repeats a case.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import func
from sqlmodel import Session, col, select

from triage.batch.engine import DEFAULT_CHUNK_SIZE, make_engine
from triage.batch.jobs import CheckpointedRun, start_job
from triage.batch.progress import JobSummary, ProgressCallback, Ticker, chunk_sizes
from triage.batch.worker import LocatedTexts, model_version, spec_of, suggest_chunk, warm
from triage.errors import InputError
from triage.store.db import Database
from triage.store.dupindex import index_text
from triage.store.lifecycle import change, record
from triage.store.models import Case, CaseStatus, CaseSuggestion, utcnow
from triage.store.queue import current_holder
from triage.store.rereview import dismissed_pairs
from triage.store.suggestion import row_columns

ERROR_COLUMNS = ["case_no", "error_code", "reason"]


@dataclass(slots=True)
class ReclassifyOptions:
    database_url: str | None = None
    statuses: list[str] = field(default_factory=list)
    since: datetime | None = None
    until: datetime | None = None
    workers: int = 1
    chunk_size: int = DEFAULT_CHUNK_SIZE
    resume: bool = False
    engine: str = "local"
    scheduler: Any = None
    model_path: Path | None = None
    routing_path: Path | None = None
    triager_factory: str | None = None  # "module:callable" instead of Triager.load (custom pipelines)
    job_id: str | None = None
    actor: str = "batch"
    errors: Path | None = None
    database: Database | None = None  # a ready Database (tests, API) instead of the URL
    stop: threading.Event | None = None
    progress_every: float = 0.2  # seconds between progress callbacks (0: after every chunk)

    def params(self) -> dict[str, Any]:
        return {
            "statuses": sorted(self.statuses),
            "since": self.since,
            "until": self.until,
            "model_path": self.model_path,
            "routing_path": self.routing_path,
        }


def _filters(opts: ReclassifyOptions) -> list[Any]:
    valid = {s.value for s in CaseStatus}
    bad = [s for s in opts.statuses if s not in valid]
    if bad:
        raise InputError(
            f"unknown status {', '.join(bad)}; use one of {', '.join(sorted(valid))}", code="bad_option"
        )
    out: list[Any] = []
    if opts.statuses:
        out.append(col(Case.status).in_(opts.statuses))
    if opts.since:
        out.append(col(Case.created_at) >= opts.since)
    if opts.until:
        out.append(col(Case.created_at) < opts.until)
    return out


_LOCATION_KEYS = ("street", "community", "address")  # a case's fields read by the department model
_LOCATION = tuple(col(getattr(Case, k)) for k in _LOCATION_KEYS)


def _pages(
    db: Database, filters: list[Any], after_id: int, size: int
) -> Iterator[tuple[list[Any], LocatedTexts]]:
    """(case ids and numbers, texts with the cases' location fields) for successive chunks,
    keyset-paged by id (:func:`chunk_sizes`: small pages first, so progress shows at once)."""
    for limit in chunk_sizes(size):
        with db.session() as session:
            rows = session.execute(
                sa.select(col(Case.id), col(Case.case_no), col(Case.title), col(Case.text), *_LOCATION)
                .where(col(Case.id) > after_id, *filters)
                .order_by(col(Case.id))
                .limit(limit)
            ).all()
        if not rows:
            return
        after_id = rows[-1][0]
        fields = [{k: v for k, v in zip(_LOCATION_KEYS, r[4:], strict=True) if v} for r in rows]
        yield [(r[0], r[1]) for r in rows], LocatedTexts([index_text(r[2], r[3]) for r in rows], fields)


def run_reclassify(opts: ReclassifyOptions, progress: ProgressCallback | None = None) -> JobSummary:
    db = opts.database or Database(opts.database_url)
    db.ensure_schema()
    filters = _filters(opts)
    spec = spec_of(opts)
    job = start_job(
        db, "reclassify", opts.params(), job_id=opts.job_id, resume=opts.resume, created_by=opts.actor
    )
    ckpt = dict(job.checkpoint or {})
    ckpt.setdefault("last_id", 0)
    for key in ("rows_read", "rows_written", "rows_failed", "applied", "flagged", "changed", "kept"):
        ckpt.setdefault(key, 0)
    summary = JobSummary("reclassify", resumed_at_row=ckpt["rows_read"])
    with db.session() as session:
        total = session.exec(select(func.count()).select_from(Case).where(*filters)).one()
    ticker = Ticker("reclassify", progress, every=opts.progress_every)
    ticker.update(
        rows_read=ckpt["rows_read"], resumed_rows=ckpt["rows_read"], start_units=ckpt["rows_read"],
        done_units=ckpt["rows_read"], total_units=int(total),
    )  # fmt: skip
    errors = _ErrorLog(opts.errors, ckpt.get("errors_offset"))
    engine = make_engine(
        opts.engine, workers=opts.workers, scheduler=opts.scheduler, init=warm, init_args=(spec,)
    )
    run = CheckpointedRun(db, job.id, summary, ticker, ckpt, units=lambda c: {"done_units": c["rows_read"]})
    if opts.errors:
        summary.outputs["errors"] = str(opts.errors)
    with run.running(_details, engine, errors):
        version = next(iter(engine.map(model_version, [(None, None)], spec)))[1]
        if ckpt.get("model_version") not in (None, version):
            raise InputError(
                f"job {job.id} started with model {ckpt['model_version']}, the workers have {version}",
                code="checkpoint_mismatch",
            )
        ckpt["model_version"] = version
        pages = _pages(db, filters, ckpt["last_id"], opts.chunk_size)
        for meta, results in engine.map(suggest_chunk, pages, spec):
            if opts.stop is not None and opts.stop.is_set():
                summary.interrupted = True
                break
            failed = [(no, r) for (_, no), r in zip(meta, results, strict=True) if "error" in r]
            for case_no, res in failed:
                errors.write({"case_no": case_no, "error_code": res["error_code"], "reason": res["error"]})
            new = dict(run.checkpoint, errors_offset=errors.sync())
            with run.chunk(new) as session:  # the chunk and its checkpoint commit together
                for key, value in _apply_chunk(session, job.id, opts.actor, meta, results).items():
                    new[key] += value
                new["last_id"] = meta[-1][0]
                new["rows_read"] += len(meta)
                new["rows_written"] += len(meta) - len(failed)
                new["rows_failed"] += len(failed)
    return summary


def _details(checkpoint: dict[str, Any]) -> dict[str, Any]:
    return {k: checkpoint[k] for k in ("changed", "applied", "kept", "flagged")}


def _apply_chunk(
    session: Session, job_id: str, actor: str, meta: list[tuple[int, str]], results: list[dict[str, Any]]
) -> dict[str, int]:
    counts = {"changed": 0, "applied": 0, "kept": 0, "flagged": 0}
    ids = [case_id for case_id, _ in meta]
    cases = {c.id: c for c in session.exec(select(Case).where(col(Case.id).in_(ids)).with_for_update())}
    done = set(
        session.exec(
            select(col(CaseSuggestion.case_id)).where(
                col(CaseSuggestion.job_id) == job_id, col(CaseSuggestion.case_id).in_(ids)
            )
        )
    )
    kept = dismissed_pairs(session, ids)
    now = utcnow()
    for (case_id, _), res in zip(meta, results, strict=True):
        case = cases.get(case_id)
        if case is None or "error" in res or case_id in done:
            continue
        reviewed = case.category is not None or case.reviewed_at is not None
        row = CaseSuggestion(
            job_id=job_id, case_id=case_id, case_no=case.case_no, created_at=now,
            model_version=res["model_version"], category=res["category"],
            subcategory=res["subcategory"] or None,
            department_code=res["department_code"] or None, department=res["department"] or None,
            level=res["level"] or None, priority=res["priority"], confidence=res["confidence"],
            needs_review=res["needs_review"], top_k=res["top_k_dicts"],
            previous_model_version=case.model_version, previous_category=case.suggested_category,
            previous_department_code=case.suggested_department_code, previous_confidence=case.confidence,
            decision_category=case.category, case_status=case.status,
            changed=res["category"] != case.suggested_category,
        )  # fmt: skip
        counts["changed"] += row.changed
        leased = current_holder(case, now) is not None
        if not reviewed and case.status == CaseStatus.PENDING_REVIEW and not leased:
            change(
                session, case, actor=actor, action="reclassify", at=now, note=f"batch job {job_id}",
                **row_columns(res),
            )  # fmt: skip
            row.applied = True
            counts["applied"] += 1
        else:
            counts["kept"] += 1
        answered = (case_id, case.category, res["category"], res["model_version"]) in kept
        if reviewed and case.category and case.category != res["category"] and not answered:
            row.flagged = True
            counts["flagged"] += 1
            record(
                session, case, actor=actor, action="flag_rereview", at=now,
                after={"decision": case.category, "model": res["category"],
                       "model_version": res["model_version"]},
                note=f"batch job {job_id}: the model now disagrees with the reviewed category",
            )  # fmt: skip
        session.add(row)
    return counts


class _ErrorLog:
    """Optional errors CSV, truncated back to the checkpoint on resume."""

    def __init__(self, path: Path | None, offset: int | None) -> None:
        from triage.tabular.files import TabularWriter

        self.writer = (
            TabularWriter(path, ERROR_COLUMNS, fmt="csv", encoding="utf-8-sig", offset=offset)
            if path is not None
            else None
        )

    def write(self, row: dict[str, Any]) -> None:
        if self.writer is not None:
            self.writer.write(row)

    def sync(self) -> int:
        return self.writer.sync() if self.writer is not None else 0

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
