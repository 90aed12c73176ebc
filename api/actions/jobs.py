"""Batch jobs (administrators only): start a reclassify or import run, follow its progress.

The jobs are the same ``triage.batch`` runners the ``triage batch`` CLI uses (one code path);
an import reads only files inside the server's import directory.
"""

from __future__ import annotations

from typing import Any

from api import access
from api.errors import ApiError
from api.schemas import JobKind, JobRequest, JobStatus
from api.security import Principal
from triage.batch.importer import ImportOptions
from triage.batch.jobs import JobRunner, confined_file, get_job
from triage.batch.reclassify import ReclassifyOptions
from triage.config import Settings
from triage.store.db import Database


def _options(
    body: JobRequest, db: Database, actor: str, settings: Settings
) -> ReclassifyOptions | ImportOptions:
    if body.kind is JobKind.RECLASSIFY:
        return ReclassifyOptions(
            statuses=[s.value for s in body.statuses],
            since=body.since,
            until=body.until,
            chunk_size=body.chunk_size,
            resume=body.resume,
            database=db,
            actor=actor,
        )
    if not body.input:
        raise ApiError(422, "missing_field", "an import job needs the input file", field="input")
    if not body.text_cols:
        raise ApiError(422, "missing_field", "an import job needs a text column", field="text_cols")
    path = confined_file(settings.import_dir, body.input, field="input")
    settings.jobs_dir.mkdir(mode=0o750, parents=True, exist_ok=True)
    return ImportOptions(
        input=path,
        text_cols=body.text_cols,
        title_col=body.title_col,
        id_col=body.id_col,
        time_col=body.time_col,
        label_col=body.label_col,
        status_col=body.status_col,
        chunk_size=body.chunk_size,
        resume=body.resume,
        output_dir=settings.jobs_dir,  # <job id>.import-errors.csv: never beside the input
        database=db,
        actor=actor,
    )


def start(
    runner: JobRunner, db: Database, settings: Settings, user: Principal, body: JobRequest
) -> JobStatus:
    """Start a job in a background thread of this process, with a checkpoint per chunk."""
    access.require(user, access.ADMIN, "run batch jobs")
    options = _options(body, db, user.username, settings)
    job_id = runner.start(body.kind.value, options)
    state: dict[str, Any] = runner.status(job_id) or {
        "id": job_id,
        "kind": body.kind.value,
        "status": "running",
    }
    return JobStatus(**state)


def status(runner: JobRunner, db: Database, user: Principal, job_id: str) -> JobStatus:
    """Live progress from this process, else the job's row (survives restarts and other workers)."""
    access.require(user, access.ADMIN, "see batch jobs")
    state = runner.status(job_id)
    if state is not None:
        return JobStatus(**state)
    job = get_job(db, job_id)
    if job is None:
        raise ApiError(404, "job_not_found", f"no job {job_id!r}", field="job_id")
    error = {"code": "job_failed", "message": job.error} if job.error else None
    return JobStatus(
        id=job.id, kind=job.kind, status=job.status, progress=job.progress, summary=job.summary, error=error
    )
