"""Progress and summary objects shared by every batch job, and a rich progress bar.

Jobs report through a plain callback (``Callable[[JobProgress], None]``), so the CLI can draw
a bar and the HTTP API can store the latest snapshot for ``GET /api/v1/jobs/{id}``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(slots=True)
class JobProgress:
    job: str
    rows_read: int = 0
    rows_written: int = 0
    rows_failed: int = 0
    done_units: int = 0  # bytes or rows, whichever the source can tell (for the fraction)
    total_units: int | None = None
    elapsed: float = 0.0
    finished: bool = False
    resumed_rows: int = 0  # rows done by an earlier run (excluded from the rate)
    start_units: int = 0  # done_units when this run started (for the ETA)

    @property
    def fraction(self) -> float | None:
        if not self.total_units:
            return None
        return min(self.done_units / self.total_units, 1.0)

    @property
    def rate(self) -> float:
        """Rows per second in this run."""
        done = self.rows_read - self.resumed_rows
        return done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta_seconds(self) -> float | None:
        if not self.total_units or self.elapsed <= 0 or self.done_units <= self.start_units:
            return None
        speed = (self.done_units - self.start_units) / self.elapsed
        return max(self.total_units - self.done_units, 0) / speed

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(fraction=self.fraction, rate=round(self.rate, 2), eta_seconds=self.eta_seconds)
        return out


ProgressCallback = Callable[[JobProgress], None]


@dataclass(slots=True)
class JobSummary:
    job: str
    rows_read: int = 0
    rows_written: int = 0
    rows_failed: int = 0
    seconds: float = 0.0
    resumed_at_row: int = 0  # records already done by an earlier, interrupted run
    interrupted: bool = False
    outputs: dict[str, str] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    def take_counts(self, checkpoint: dict[str, Any], seconds: float) -> None:
        """Copy the row counters of the last committed checkpoint (what a resume would continue from)."""
        self.rows_read = checkpoint["rows_read"]
        self.rows_written = checkpoint["rows_written"]
        self.rows_failed = checkpoint["rows_failed"]
        self.seconds = seconds

    @property
    def rate(self) -> float:
        done_now = self.rows_read - self.resumed_at_row
        return done_now / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["rate"] = round(self.rate, 2)
        return out

    def outcome(self, error: str | None = None) -> str:
        """How the run ended and its row counts, for the job's log record."""
        how = f"failed ({error})" if error else ("interrupted" if self.interrupted else "done")
        return (
            f"{how}: {self.rows_read} rows read, {self.rows_written} written, {self.rows_failed} failed "
            f"in {self.seconds:.1f} s"
        )

    def lines(self) -> list[str]:
        head = (
            f"{self.job}: {self.rows_read} rows read, {self.rows_written} written, {self.rows_failed} failed"
        )
        if self.resumed_at_row:
            head += f" (resumed after row {self.resumed_at_row})"
        out = [head, f"{self.seconds:.1f} s, {self.rate:.1f} rows/s"]
        out += [f"{k}: {v}" for k, v in self.details.items()]
        out += [f"{role}: {path}" for role, path in self.outputs.items()]
        if self.interrupted:
            out.append("interrupted: run the same command with --resume to continue")
        return out


class Ticker:
    """Builds :class:`JobProgress` snapshots and forwards them to a callback at most every ``every`` s."""

    def __init__(self, job: str, callback: ProgressCallback | None, every: float = 0.2) -> None:
        self.state = JobProgress(job)
        self.callback = callback
        self.every = every
        self._start = time.perf_counter()
        self._last = 0.0

    def update(self, *, force: bool = False, notify: bool = True, **fields: Any) -> None:
        for key, value in fields.items():
            setattr(self.state, key, value)
        now = time.perf_counter()
        self.state.elapsed = now - self._start
        if notify and self.callback is not None and (force or now - self._last >= self.every):
            self._last = now
            self.callback(self.state)

    def elapsed(self) -> float:
        return time.perf_counter() - self._start

    def finish(self) -> None:
        self.update(force=True, finished=True)


class RichProgress:
    """A rich progress bar (rate and ETA) driven by :class:`JobProgress` callbacks."""

    def __init__(self, description: str, *, disable: bool = False) -> None:
        from rich.progress import (
            BarColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn(
                "{task.fields[rows]} rows · {task.fields[rate]} rows/s · {task.fields[failed]} failed"
            ),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            disable=disable,
            transient=False,
        )
        self._task = self._progress.add_task(description, total=None, rows=0, rate="-", failed=0)

    def __call__(self, p: JobProgress) -> None:
        self._progress.update(
            self._task,
            completed=p.done_units,
            total=p.total_units,
            rows=p.rows_read,
            rate=f"{p.rate:,.0f}",
            failed=p.rows_failed,
        )

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()


def default_errors_path(output: Path) -> Path:
    return output.with_name(output.stem + ".errors.csv")


def drop_unused_errors_file(summary: JobSummary, path: Path) -> None:
    """A bad-rows file nobody named and no row went into is removed: a clean run leaves no
    empty report behind in the working directory (an interrupted run keeps it for resume)."""
    if summary.rows_failed == 0 and not summary.interrupted:
        path.unlink(missing_ok=True)
        summary.outputs.pop("errors", None)


FIRST_CHUNK_ROWS = 8  # the first chunk of a job; each next one doubles up to the chunk size


def chunk_sizes(size: int) -> Iterator[int]:
    """8, 16, 32 … rows, then ``size`` for good: the progress bar moves from the first rows on
    (a 457-row file in one 500-row chunk would jump from 0 to 100 %), and full chunks keep the
    per-chunk cost (commit, checkpoint, worker round trip) low for the rest."""
    n = min(FIRST_CHUNK_ROWS, size)
    while True:
        yield n
        n = min(n * 2, size)


def ramped_chunks(items: Iterable[T], size: int, sizes: Iterator[int] | None = None) -> Iterator[list[T]]:
    """``items`` in lists of :func:`chunk_sizes` (the last one may be shorter). Pass ``sizes`` to
    go on with a sequence a resumed job has partly used, so chunks fall where they fell before."""
    it = iter(items)
    for n in sizes if sizes is not None else chunk_sizes(size):
        chunk = list(islice(it, n))
        if not chunk:
            return
        yield chunk
