"""Batch jobs over files and the case database: classify, reclassify, import, reports, hot issues.

Every job is a plain function taking an options object and an optional progress callback and
returning a :class:`JobSummary`, so the CLI (``triage batch …``) and the HTTP job API call the
same code. Heavy imports (store, dask, matplotlib) happen inside the job modules.
"""

from __future__ import annotations

from typing import Any

from triage.batch.progress import JobProgress, JobSummary, ProgressCallback


def run_classify(options: Any, progress: ProgressCallback | None = None) -> JobSummary:
    from triage.batch.classify import run_classify as run

    return run(options, progress)


def run_reclassify(options: Any, progress: ProgressCallback | None = None) -> JobSummary:
    from triage.batch.reclassify import run_reclassify as run

    return run(options, progress)


def run_import(options: Any, progress: ProgressCallback | None = None) -> JobSummary:
    from triage.batch.importer import run_import as run

    return run(options, progress)


RUNNERS = {"classify": run_classify, "reclassify": run_reclassify, "import": run_import}

__all__ = ["RUNNERS", "JobProgress", "JobSummary", "run_classify", "run_import", "run_reclassify"]
