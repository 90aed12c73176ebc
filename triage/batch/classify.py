"""``triage batch classify``: triage every row of a CSV/XLSX/JSONL file into a new file.

The input is streamed in chunks; chunks are triaged by an engine (inline, process pool or
Dask) and written in input order. Near-duplicates within the file are grouped centrally, in
file order, so every engine gives the same output. After each chunk the output and errors
files are fsynced and a checkpoint is written, so ``resume=True`` continues an interrupted
run without losing or repeating a row. Call :func:`run_classify` from Python (the HTTP job
API does) with a progress callback, or use the CLI.
"""

from __future__ import annotations

import logging
import os
import resource
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from triage.batch.checkpoint import Checkpoint, fingerprint, fsync_dir, truncate_to
from triage.batch.dupes import DEFAULT_MAX_GROUPS, FileDuplicates
from triage.batch.engine import DEFAULT_CHUNK_SIZE, make_engine
from triage.batch.progress import (
    JobSummary,
    ProgressCallback,
    Ticker,
    chunk_sizes,
    default_errors_path,
    drop_unused_errors_file,
    ramped_chunks,
)
from triage.batch.worker import (
    RESULT_COLUMNS,
    Chunk,
    LocatedTexts,
    classify_chunk,
    engine_model_facts,
    spec_of,
    warm,
)
from triage.errors import InputError
from triage.tabular.files import Record, TabularReader, TabularWriter, cell_text, detect_format, join_text

log = logging.getLogger(__name__)
ERROR_COLUMNS = ["row", "line", "id", "error_code", "reason"]


@dataclass(slots=True)
class ClassifyOptions:
    input: Path
    output: Path
    text_cols: list[str]
    id_col: str | None = None
    errors: Path | None = None
    workers: int = 1
    chunk_size: int = DEFAULT_CHUNK_SIZE
    resume: bool = False
    engine: str = "local"
    scheduler: Any = None  # address string, or a distributed.Client (tests)
    model_path: Path | None = None
    routing_path: Path | None = None
    triager_factory: str | None = None  # "module:callable" instead of Triager.load (custom pipelines)
    dedup: bool = True
    dedup_threshold: float | None = None
    dedup_window: int = DEFAULT_MAX_GROUPS  # distinct groups remembered (bounds memory)
    input_format: str | None = None
    encoding: str | None = None
    sheet: str | None = None
    output_encoding: str = "utf-8-sig"  # BOM: Excel opens Chinese CSV correctly
    stop: threading.Event | None = None  # set (e.g. by the job API) to stop after the current chunk
    progress_every: float = 0.2  # seconds between progress callbacks (0: after every chunk)
    extra: dict[str, Any] = field(default_factory=dict)
    # input column → case field name passed to the engine (辖区 → district, or 镇街 → 镇街)
    field_cols: dict[str, str] = field(default_factory=dict)

    def resume_key(self) -> dict[str, Any]:
        """Options that must not change between an interrupted run and its resume."""
        return {
            "text_cols": list(self.text_cols),
            "id_col": self.id_col,
            "chunk_size": self.chunk_size,
            "output": str(self.output.resolve()),
            "dedup": self.dedup,
            "dedup_threshold": self.dedup_threshold,
            "dedup_window": self.dedup_window,
            "output_encoding": self.output_encoding,
        } | ({"field_cols": dict(self.field_cols)} if self.field_cols else {})  # older checkpoints have none


def output_columns(input_columns: list[str]) -> tuple[list[str], dict[str, str]]:
    """Input columns then result columns; a result column that clashes gets a ``pred_`` prefix."""
    names: dict[str, str] = {}
    for col in RESULT_COLUMNS:
        name = col
        while name in input_columns:
            name = "pred_" + name
        names[col] = name
    return input_columns + list(names.values()), names


class _Paths:
    def __init__(self, opts: ClassifyOptions) -> None:
        self.output = opts.output
        self.out_format = detect_format(opts.output)
        # XLSX cannot be appended to: spool rows as JSONL, convert at the end.
        spool_fmt = "jsonl" if self.out_format == "xlsx" else self.out_format
        self.spool_format = spool_fmt
        self.part = opts.output.with_name(opts.output.name + ".part")
        self.errors = opts.errors or default_errors_path(opts.output)
        self.checkpoint = opts.output.with_name(opts.output.name + ".checkpoint.json")


def run_classify(opts: ClassifyOptions, progress: ProgressCallback | None = None) -> JobSummary:
    """Run (or resume) a classify job; returns the summary. Raises InputError for bad files."""
    if opts.chunk_size < 1:
        raise InputError("--chunk-size must be at least 1", code="bad_option")
    paths = _Paths(opts)
    if opts.input.resolve() == opts.output.resolve():
        raise InputError("--output must differ from --input", code="bad_option")
    spec = spec_of(opts)
    summary = JobSummary("classify")
    cpu_start = _cpu_seconds()
    ticker = Ticker("classify", progress, every=opts.progress_every)
    with TabularReader(opts.input, fmt=opts.input_format, encoding=opts.encoding, sheet=opts.sheet) as reader:
        reader.require(list(opts.text_cols) + ([opts.id_col] if opts.id_col else []) + list(opts.field_cols))
        columns, names = output_columns(list(reader.columns))
        fp = fingerprint(opts.input)
        ckpt = _load_or_start(opts, paths, fp)
        engine = make_engine(
            opts.engine, workers=opts.workers, scheduler=opts.scheduler, init=warm, init_args=(spec,)
        )
        try:
            version, templates = engine_model_facts(engine, spec)
            if ckpt.rows_read == 0:
                ckpt.options["model_version"] = version
            elif version != ckpt.options.get("model_version"):
                raise InputError(
                    f"the interrupted run used model {ckpt.options.get('model_version')}, this one has "
                    f"{version}; resume with the same model or run without --resume",
                    code="checkpoint_mismatch",
                )
            dupes = (
                FileDuplicates(opts.dedup_threshold, max_groups=opts.dedup_window, templates=templates)
                if opts.dedup
                else None
            )
            records: Iterator[Record] = iter(reader)
            sizes = chunk_sizes(opts.chunk_size)  # one sequence across resumes: chunks fall where they fell
            if ckpt.rows_read:
                records = _replay(records, ckpt.rows_read, opts, sizes, dupes)
            summary.resumed_at_row = ckpt.rows_read
            resumed = f" (resumed after row {ckpt.rows_read})" if ckpt.rows_read else ""
            log.info("classify job started: %s -> %s%s", opts.input, paths.output, resumed)
            ticker.update(
                rows_read=ckpt.rows_read,
                rows_written=ckpt.rows_written,
                rows_failed=ckpt.rows_failed,
                resumed_rows=ckpt.rows_read,
                start_units=reader.progress()[0],
            )
            writer = TabularWriter(
                paths.part,
                columns,
                fmt=paths.spool_format,
                encoding=opts.output_encoding,
                offset=ckpt.offsets.get("part") if ckpt.rows_read else None,
            )
            errors = TabularWriter(
                paths.errors,
                ERROR_COLUMNS,
                encoding=opts.output_encoding,
                offset=ckpt.offsets.get("errors") if ckpt.rows_read else None,
            )
            try:
                chunks = ramped_chunks(records, opts.chunk_size, sizes)
                for chunk, results in engine.map(classify_chunk, _texts(chunks, opts), spec):
                    if opts.stop is not None and opts.stop.is_set():
                        raise KeyboardInterrupt
                    _write_chunk(chunk, results, opts, names, dupes, writer, errors, ckpt)
                    ckpt.chunks_done += 1
                    ckpt.offsets = {"part": writer.sync(), "errors": errors.sync()}
                    ckpt.save(paths.checkpoint)
                    ticker.update(
                        rows_read=ckpt.rows_read,
                        rows_written=ckpt.rows_written,
                        rows_failed=ckpt.rows_failed,
                        done_units=reader.progress()[0],
                        total_units=reader.progress()[1],
                    )
            finally:
                writer.close()
                errors.close()
        except KeyboardInterrupt:
            summary.interrupted = True
        finally:
            engine.close()
    summary.rows_read, summary.rows_written, summary.rows_failed = (
        ckpt.rows_read,
        ckpt.rows_written,
        ckpt.rows_failed,
    )
    summary.seconds = ticker.elapsed()
    summary.outputs = {"output": str(paths.output), "errors": str(paths.errors)}
    if opts.errors is None:
        drop_unused_errors_file(summary, paths.errors)
    summary.details["model_version"] = ckpt.options.get("model_version", "")
    summary.details["main_process_cpu_s"] = round(_cpu_seconds() - cpu_start, 1)
    if dupes is not None:
        summary.details["duplicate_groups"] = dupes.groups
    if summary.interrupted:
        summary.outputs["checkpoint"] = str(paths.checkpoint)
        log.info("classify job %s %s", paths.output, summary.outcome())
        return summary
    _finalise(paths, columns)
    ticker.finish()
    log.info("classify job %s %s", paths.output, summary.outcome())
    return summary


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _load_or_start(opts: ClassifyOptions, paths: _Paths, fp: dict[str, Any]) -> Checkpoint:
    if opts.resume and paths.checkpoint.exists():
        ckpt = Checkpoint.load(paths.checkpoint)
        key = opts.resume_key() | {"model_version": ckpt.options.get("model_version")}
        ckpt.check_matches("classify", fp, key)
        if ckpt.rows_read:
            truncate_to(paths.part, ckpt.offsets["part"])
            truncate_to(paths.errors, ckpt.offsets["errors"])
        return ckpt
    for stale in (paths.checkpoint, paths.part):
        stale.unlink(missing_ok=True)
    return Checkpoint("classify", fp, opts.resume_key())


def _record_text(rec: Record, opts: ClassifyOptions) -> str | None:
    if rec.values is None:
        return None
    return join_text(rec.values, opts.text_cols)


def _texts(chunks: Iterator[list[Record]], opts: ClassifyOptions) -> Iterator[tuple[list[Record], Chunk]]:
    """Pair each chunk with the texts to triage (unparseable records are not sent), and with the
    rows' case fields when ``--field-col`` maps columns to them."""
    for chunk in chunks:
        sent = [(r, t) for r in chunk if (t := _record_text(r, opts)) is not None]
        texts = [t for _, t in sent]
        if not opts.field_cols:
            yield chunk, texts
            continue
        fields = [
            {key: str(v) for col, key in opts.field_cols.items() if (v := (r.values or {}).get(col))}
            for r, _ in sent
        ]
        yield chunk, LocatedTexts(texts, fields)


def _record_id(rec: Record, opts: ClassifyOptions) -> str:
    if opts.id_col and rec.values is not None:
        value = cell_text(rec.values.get(opts.id_col))
        if value:
            return value
    return str(rec.row)


def _write_chunk(
    chunk: list[Record],
    results: list[dict[str, Any]],
    opts: ClassifyOptions,
    names: dict[str, str],
    dupes: FileDuplicates | None,
    writer: TabularWriter,
    errors: TabularWriter,
    ckpt: Checkpoint,
) -> None:
    it = iter(results)
    paired = [
        (rec, _record_id(rec, opts), _error_row(rec) if rec.error is not None else next(it)) for rec in chunk
    ]
    good = [(rec.row, rec_id, res["text"]) for rec, rec_id, res in paired if "error" not in res]
    groups = iter(dupes.assign_many(good)) if dupes is not None else None
    for rec, rec_id, res in paired:
        ckpt.rows_read += 1
        if "error" in res:
            ckpt.rows_failed += 1
            errors.write(
                {
                    "row": rec.row,
                    "line": rec.line,
                    "id": rec_id,
                    "error_code": res["error_code"],
                    "reason": res["error"],
                }
            )
            continue
        if groups is not None:
            res["duplicate_group"], res["duplicate_score"] = next(groups)
        row = dict(rec.values or {})
        for col, out_name in names.items():
            row[out_name] = res.get(col)
        writer.write(row)
        ckpt.rows_written += 1


def _error_row(rec: Record) -> dict[str, Any]:
    assert rec.error is not None
    return {"error_code": rec.error.code, "error": rec.error.message}


def _replay(
    records: Iterator[Record],
    n: int,
    opts: ClassifyOptions,
    sizes: Iterator[int],
    dupes: FileDuplicates | None,
) -> Iterator[Record]:
    """Skip the ``n`` records an earlier run finished, rebuilding the duplicate groups they formed
    (chunk by chunk, exactly as the interrupted run saw them)."""
    from triage.config import get_settings
    from triage.text.intake import prepare_text

    max_chars = get_settings().max_text_chars
    done = 0
    while done < n:
        chunk = [rec for rec in islice(records, min(next(sizes), n - done))]
        if not chunk:
            raise InputError("the input has fewer rows than the checkpoint says", code="checkpoint_mismatch")
        done += len(chunk)
        if dupes is None:
            continue
        good = []
        for rec in chunk:
            if rec.values is None:
                continue
            try:
                text = prepare_text(join_text(rec.values, opts.text_cols), max_chars=max_chars)
            except InputError:
                continue
            good.append((rec.row, _record_id(rec, opts), text))
        dupes.assign_many(good)
    return records


def _finalise(paths: _Paths, columns: list[str]) -> None:
    """Turn the part file into the output (rename, or convert JSONL → XLSX) and drop the checkpoint."""
    if paths.out_format == "xlsx":
        tmp = paths.output.with_name(paths.output.name + ".tmp.xlsx")
        with (
            TabularReader(paths.part, fmt="jsonl", encoding="utf-8-sig") as spool,
            TabularWriter(tmp, columns) as out,
        ):
            for rec in spool:
                out.write(rec.values or {})
        os.replace(tmp, paths.output)
        paths.part.unlink()
    else:
        os.replace(paths.part, paths.output)
    fsync_dir(paths.output.parent)
    paths.checkpoint.unlink(missing_ok=True)
