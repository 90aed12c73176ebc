"""Batch job records in the case database, and a background runner for the HTTP job API.

Database-backed jobs (reclassify, import) keep their checkpoint in their ``batch_jobs`` row and
update it in the same transaction as each chunk's writes, so a chunk and its checkpoint are
committed together: after a crash, ``--resume`` continues exactly after the last committed
chunk. :class:`JobRunner` starts jobs in threads and reports progress (``POST /api/v1/jobs``,
``GET /api/v1/jobs/{id}``).
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any, Protocol

from sqlmodel import Session, col, select

from triage.batch.progress import JobProgress, JobSummary, Ticker
from triage.errors import InputError, TriageError
from triage.store.db import Database
from triage.store.models import BatchJob, utcnow

log = logging.getLogger(__name__)
RUNNING, INTERRUPTED, DONE, FAILED = "running", "interrupted", "done", "failed"


def new_job_id(kind: str, now: datetime | None = None) -> str:
    now = now or utcnow()
    return f"{kind}-{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def _plain(params: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in params.items():
        if value is None or isinstance(value, bool | int | float | str):
            out[key] = value
        elif isinstance(value, list | tuple):
            out[key] = [str(v) for v in value]
        elif isinstance(value, datetime):
            out[key] = value.isoformat()
        else:
            out[key] = str(value)
    return out


def start_job(
    db: Database, kind: str, params: dict[str, Any], *, job_id: str | None, resume: bool, created_by: str
) -> BatchJob:
    """A new job row, or (``resume``) the unfinished job of this kind with the same parameters."""
    params = _plain(params)
    with db.session(write=True) as session:
        job = session.get(BatchJob, job_id) if job_id else None
        if job is None and resume:
            stmt = (
                select(BatchJob)
                .where(BatchJob.kind == kind, col(BatchJob.status).in_([RUNNING, INTERRUPTED]))
                .order_by(col(BatchJob.created_at).desc())
            )
            job = next((j for j in session.exec(stmt) if (j.params or {}) == params), None)
        if job is not None:
            if job.kind != kind:
                raise InputError(f"job {job.id} is a {job.kind} job, not {kind}", code="bad_job")
            if job.status == DONE:
                raise InputError(f"job {job.id} is already done", code="job_done")
            if resume and (job.params or {}) != params:
                raise InputError(
                    f"job {job.id} ran with other parameters; resume with the same ones",
                    code="checkpoint_mismatch",
                )
            was: str | None = job.status
            job.status, job.updated_at = RUNNING, utcnow()
        else:
            was, now = None, utcnow()
            job = BatchJob(
                id=job_id or new_job_id(kind, now),
                kind=kind,
                status=RUNNING,
                params=params,
                checkpoint={},
                created_by=created_by,
                created_at=now,
                updated_at=now,
            )
        session.add(job)
    if was is None:
        log.info("%s job %s started by %s", kind, job.id, created_by)
    else:
        log.info("%s job %s resumed by %s (was %s)", kind, job.id, created_by, was)
    return job


def save_checkpoint(session: Session, job_id: str, checkpoint: dict[str, Any], progress: JobProgress) -> None:
    """Store the checkpoint inside the caller's (chunk) transaction."""
    job = session.get(BatchJob, job_id)
    assert job is not None
    job.checkpoint = dict(checkpoint)
    job.progress = progress.to_dict()
    job.updated_at = utcnow()
    session.add(job)


def finish_job(db: Database, job_id: str, summary: JobSummary, *, error: str | None = None) -> None:
    with db.session(write=True) as session:
        job = session.get(BatchJob, job_id)
        if job is None:
            return
        job.status = FAILED if error else (INTERRUPTED if summary.interrupted else DONE)
        job.summary = summary.to_dict()
        job.error = error
        job.model_version = summary.details.get("model_version") or job.model_version
        job.updated_at = utcnow()
        if job.status in (DONE, FAILED):
            job.finished_at = job.updated_at
        session.add(job)
    level = logging.WARNING if error else logging.INFO
    log.log(level, "%s job %s %s", summary.job, job_id, summary.outcome(error))


class _Closable(Protocol):
    def close(self) -> None: ...


class CheckpointedRun:
    """The part every database-backed job (import, reclassify) shares around its chunk loop.

    :meth:`chunk` commits a chunk's writes together with its checkpoint; :meth:`running`
    closes the job's resources and records how the run ended (done, interrupted by Ctrl-C or a
    stop request, failed), whatever happens in the loop.
    """

    def __init__(
        self,
        db: Database,
        job_id: str,
        summary: JobSummary,
        ticker: Ticker,
        checkpoint: dict[str, Any],
        units: Callable[[dict[str, Any]], dict[str, Any]],
    ) -> None:
        self.db, self.job_id, self.summary, self.ticker = db, job_id, summary, ticker
        self.checkpoint = checkpoint  # the last committed one
        self._units = units  # checkpoint -> the ticker's done/total units

    @contextmanager
    def chunk(self, new: dict[str, Any]) -> Iterator[Session]:
        """A write session for the chunk; ``new`` (filled in by the caller) commits with it."""
        with self.db.session(write=True) as session:
            yield session
            self.ticker.update(
                notify=False, rows_read=new["rows_read"], rows_written=new["rows_written"],
                rows_failed=new["rows_failed"], **self._units(new),
            )  # fmt: skip
            save_checkpoint(session, self.job_id, new, self.ticker.state)
        self.checkpoint = new
        self.ticker.update()

    @contextmanager
    def running(
        self, details: Callable[[dict[str, Any]], dict[str, Any]], *resources: _Closable
    ) -> Iterator[None]:
        error: str | None = None
        try:
            yield
        except KeyboardInterrupt:
            self.summary.interrupted = True
        except Exception as exc:
            error = str(exc)
            raise
        finally:
            for resource in resources:
                resource.close()
            self.summary.take_counts(self.checkpoint, self.ticker.elapsed())
            self.summary.details = {
                "job_id": self.job_id,
                "model_version": self.checkpoint.get("model_version", ""),
                **details(self.checkpoint),
            }
            finish_job(self.db, self.job_id, self.summary, error=error)
        if not self.summary.interrupted:
            self.ticker.finish()


def confined_file(base: Path, name: str, *, field: str = "input") -> Path:
    """The regular file ``name`` inside directory ``base``, symlinks resolved, for untrusted callers.

    A name that could point outside ``base`` (absolute, ``..``, a drive, a backslash) is refused
    as such; everything whose answer depends on the file system (missing, a directory, a symlink
    leading out of ``base``, unreadable) gets one and the same error, so the answer never tells
    which files exist outside the directory.
    """
    rel = PurePosixPath(name)
    if (
        not name.strip()
        or any(ord(ch) < 32 for ch in name)
        or "\\" in name
        or rel.is_absolute()
        or PureWindowsPath(name).drive
        or ".." in rel.parts
    ):
        raise InputError(
            "must be a file name relative to the import directory, without '..'",
            code="bad_input_path",
            field=field,
        )
    root = base.resolve()
    try:
        real = (root / rel).resolve(strict=True)
        found = real.is_relative_to(root) and real.is_file() and os.access(real, os.R_OK)
    except (OSError, RuntimeError):  # missing, name too long, symlink loop …
        found = False
    if not found:
        raise InputError("no importable file of that name in the import directory", code="bad_input_file",
                         field=field)  # fmt: skip
    return real


def get_job(db: Database, job_id: str) -> BatchJob | None:
    with db.session() as session:
        return session.get(BatchJob, job_id)


def list_jobs(db: Database, kind: str | None = None, limit: int = 20) -> list[BatchJob]:
    with db.session() as session:
        stmt = select(BatchJob).order_by(col(BatchJob.created_at).desc()).limit(limit)
        if kind:
            stmt = stmt.where(BatchJob.kind == kind)
        return list(session.exec(stmt))


Runner = Callable[[Any, Callable[[JobProgress], None]], JobSummary]  # (options, on_progress) -> summary


class JobRunner:
    """Runs batch jobs in background threads and remembers their latest progress.

    ``start("reclassify", ReclassifyOptions(...))`` returns a job id at once; ``status(id)``
    gives the live progress, then the summary. Jobs of the same kind are not run twice at
    once. ``cancel(id)`` stops a job after its current chunk (it can be resumed).
    """

    def __init__(self, runners: Mapping[str, Runner]) -> None:
        self.runners = runners  # kind -> run function (triage.batch.RUNNERS), passed in
        self._lock = threading.Lock()
        self._state: dict[str, dict[str, Any]] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._stops: dict[str, threading.Event] = {}

    def start(self, kind: str, options: Any) -> str:
        if kind not in self.runners:
            raise InputError(
                f"unknown job kind {kind!r}; use one of {', '.join(self.runners)}", code="bad_job"
            )
        with self._lock:
            busy = [j for j, t in self._threads.items() if t.is_alive() and self._state[j]["kind"] == kind]
            if busy:
                raise InputError(f"a {kind} job is already running ({busy[0]})", code="job_running")
            job_id = getattr(options, "job_id", None) or new_job_id(kind)
            if hasattr(options, "job_id"):
                options.job_id = job_id
            stop = threading.Event()
            options.stop = stop
            self._state[job_id] = {"id": job_id, "kind": kind, "status": RUNNING, "progress": None}
            self._stops[job_id] = stop
            thread = threading.Thread(
                target=self._run, args=(job_id, kind, options), daemon=True, name=job_id
            )
            self._threads[job_id] = thread
        thread.start()
        return job_id

    def _run(self, job_id: str, kind: str, options: Any) -> None:
        def on_progress(p: JobProgress) -> None:
            self._state[job_id]["progress"] = p.to_dict()

        try:
            summary = self.runners[kind](options, on_progress)
            status = INTERRUPTED if summary.interrupted else DONE
            self._state[job_id].update(status=status, summary=summary.to_dict())
        except TriageError as exc:
            self._state[job_id].update(status=FAILED, error=exc.to_dict())
        except Exception as exc:  # noqa: BLE001 - a failed job is reported, not raised in a thread
            log.exception("%s job %s failed unexpectedly", kind, job_id)  # the traceback goes nowhere else
            self._state[job_id].update(status=FAILED, error={"code": "job_failed", "message": repr(exc)})

    def status(self, job_id: str) -> dict[str, Any] | None:
        state = self._state.get(job_id)
        return dict(state) if state is not None else None

    def cancel(self, job_id: str) -> bool:
        stop = self._stops.get(job_id)
        if stop is None:
            return False
        stop.set()
        return True

    def wait(self, job_id: str, timeout: float | None = None) -> dict[str, Any] | None:
        thread = self._threads.get(job_id)
        if thread is not None:
            thread.join(timeout)
        return self.status(job_id)
