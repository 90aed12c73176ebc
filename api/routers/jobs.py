"""Batch jobs for administrators: start a reclassify or import run and follow its progress.

The jobs are the same ``triage.batch`` runners the ``triage batch`` CLI uses (one code path);
they run in a background thread of this process against the service's own database, with a
checkpoint per chunk, so an interrupted job can be started again with ``resume``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, status
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from api.deps import CurrentUser, DatabaseDep, SettingsDep, require_roles
from api.errors import ApiError
from api.schemas import ERROR_RESPONSES
from api.validation import Moment
from triage.batch import RUNNERS
from triage.batch.importer import ImportOptions
from triage.batch.jobs import JobRunner, confined_file, get_job
from triage.batch.reclassify import ReclassifyOptions
from triage.config import Settings
from triage.store.models import CaseStatus, Role

router = APIRouter(
    prefix="/api/v1/jobs",
    tags=["jobs"],
    responses=ERROR_RESPONSES,
    dependencies=[Depends(require_roles(Role.ADMIN))],
)


class JobKind(StrEnum):
    RECLASSIFY = "reclassify"
    IMPORT = "import"


ColumnName = Annotated[str, Field(min_length=1, max_length=255)]


class JobRequest(BaseModel):
    """Unknown fields are refused (a misspelt option must not be silently ignored)."""

    model_config = ConfigDict(extra="forbid")

    kind: JobKind
    statuses: list[CaseStatus] = Field(default_factory=list, description="reclassify: only these states.")
    since: Moment | None = Field(None, description="reclassify: cases created at or after.")
    until: Moment | None = Field(None, description="reclassify: cases created before.")
    input: str | None = Field(
        None,
        min_length=1,
        max_length=255,
        description="import: a CSV/XLSX/JSONL file in the server's import directory (TRIAGE_IMPORT_DIR), "
        "named relative to it.",
    )
    text_cols: list[ColumnName] = Field(
        default_factory=list, max_length=10, description="import: text column(s)."
    )
    title_col: ColumnName | None = None
    id_col: ColumnName | None = None
    time_col: ColumnName | None = None
    label_col: ColumnName | None = None
    status_col: ColumnName | None = None
    chunk_size: int = Field(500, ge=1, le=10_000)
    resume: StrictBool = False


class JobStatus(BaseModel):
    id: str
    kind: str
    status: str
    progress: dict[str, Any] | None = None
    summary: dict[str, Any] | None = None
    error: dict[str, Any] | None = None


def get_runner(request: Request) -> JobRunner:
    runner = getattr(request.app.state, "job_runner", None)
    if runner is None:
        runner = request.app.state.job_runner = JobRunner(RUNNERS)
    return runner


RunnerDep = Annotated[JobRunner, Depends(get_runner)]


def _options(body: JobRequest, db: Any, actor: str, settings: Settings) -> ReclassifyOptions | ImportOptions:
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


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=JobStatus)
def start_job(
    body: JobRequest, user: CurrentUser, runner: RunnerDep, db: DatabaseDep, settings: SettingsDep
) -> JobStatus:
    """Start a job in the background; poll ``GET /api/v1/jobs/{id}`` for progress."""
    options = _options(body, db, user.username, settings)
    job_id = runner.start(body.kind.value, options)
    return JobStatus(
        **(runner.status(job_id) or {"id": job_id, "kind": body.kind.value, "status": "running"})
    )


@router.get("/{job_id}", response_model=JobStatus)
def job_status(job_id: str, runner: RunnerDep, db: DatabaseDep) -> JobStatus:
    """Live progress from this process, else the job's row (survives restarts and other workers)."""
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
