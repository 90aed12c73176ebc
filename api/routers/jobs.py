"""Batch jobs for administrators: start a reclassify or import run and follow its progress.

The jobs are the same ``triage.batch`` runners the ``triage batch`` CLI uses (one code path);
they run in a background thread of this process against the service's own database, with a
checkpoint per chunk, so an interrupted job can be started again with ``resume``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status

from api import access
from api.actions import jobs
from api.deps import CurrentUser, DatabaseDep, SettingsDep, require_roles
from api.schemas import ERROR_RESPONSES, JobRequest, JobStatus
from triage.batch import RUNNERS
from triage.batch.jobs import JobRunner

router = APIRouter(
    prefix="/api/v1/jobs",
    tags=["jobs"],
    responses=ERROR_RESPONSES,
    dependencies=[Depends(require_roles(access.ADMIN))],
)


def get_runner(request: Request) -> JobRunner:
    runner = getattr(request.app.state, "job_runner", None)
    if runner is None:
        runner = request.app.state.job_runner = JobRunner(RUNNERS)
    return runner


RunnerDep = Annotated[JobRunner, Depends(get_runner)]


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=JobStatus)
def start_job(
    body: JobRequest, user: CurrentUser, runner: RunnerDep, db: DatabaseDep, settings: SettingsDep
) -> JobStatus:
    """Start a job in the background; poll ``GET /api/v1/jobs/{id}`` for progress."""
    return jobs.start(runner, db, settings, user, body)


@router.get("/{job_id}", response_model=JobStatus)
def job_status(job_id: str, runner: RunnerDep, db: DatabaseDep, user: CurrentUser) -> JobStatus:
    """Live progress from this process, else the job's row (survives restarts and other workers)."""
    return jobs.status(runner, db, user, job_id)
