"""``triage batch import``: load historical records (hotline exports …) as cases.

Every record gets the current model's suggestion; a historical label becomes the human
decision (category, reviewed) and a historical state becomes the case status. Each record is
keyed by ``<source name>:<external id>`` (or the text hash when there is no id column) in
``case_imports``, so re-running an import adds nothing twice; records whose normalised text
was already imported are skipped as exact duplicates; near-duplicates within the file get
the first record of their group as a duplicate candidate. Each chunk's cases and the job
checkpoint commit together, so ``resume=True`` continues an interrupted import exactly.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from triage.batch.checkpoint import fingerprint
from triage.batch.dupes import FileDuplicates
from triage.batch.engine import DEFAULT_CHUNK_SIZE, make_engine
from triage.batch.jobs import CheckpointedRun, start_job
from triage.batch.progress import JobSummary, ProgressCallback, Ticker, drop_unused_errors_file, ramped_chunks
from triage.batch.worker import LocatedTexts, engine_model_facts, spec_of, suggest_chunk, warm
from triage.config import LOCAL_TZ, get_settings
from triage.errors import InputError
from triage.store import fulltext
from triage.store.db import Database
from triage.store.dupindex import index_text
from triage.store.lifecycle import record
from triage.store.models import PRIORITY_RANK, Case, CaseImport, CaseStatus, Source, utcnow
from triage.store.numbers import allocate, local_day
from triage.store.suggestion import row_columns
from triage.tabular.files import Record, TabularReader, TabularWriter, cell_text, join_text, parse_datetime
from triage.text.intake import clean_text, normalize_text, read_text
from triage.text.masking import mask_pii

ERROR_COLUMNS = ["row", "line", "id", "error_code", "reason"]
_TITLE_CHARS: int = Case.__table__.c.title.type.length  # type: ignore[attr-defined]  # the column's own limit
S = CaseStatus
STATUS_WORDS = {
    **{s.value: s.value for s in CaseStatus},
    "待审核": S.PENDING_REVIEW, "待处理": S.PENDING_REVIEW, "待受理": S.PENDING_REVIEW,
    "returned": S.PENDING_REVIEW,
    "已交办": S.DISPATCHED, "交办": S.DISPATCHED, "已派发": S.DISPATCHED,
    "处理中": S.IN_PROGRESS, "办理中": S.IN_PROGRESS,
    "已办结": S.RESOLVED, "办结": S.RESOLVED, "已答复": S.RESOLVED, "已回复": S.RESOLVED,
    "已回访": S.CLOSED, "已关闭": S.CLOSED, "关闭": S.CLOSED, "已完成": S.CLOSED,
    "已合并": S.MERGED, "重复": S.MERGED,
    "已驳回": S.REJECTED, "不予受理": S.REJECTED, "驳回": S.REJECTED,
}  # fmt: skip


@dataclass(slots=True)
class ImportOptions:
    input: Path
    text_cols: list[str]
    title_col: str | None = None
    id_col: str | None = None
    time_col: str | None = None
    label_col: str | None = None
    subcategory_col: str | None = None
    department_col: str | None = None
    status_col: str | None = None
    result_col: str | None = None
    source: str = Source.BATCH.value
    source_name: str | None = None  # key prefix; default: the input file's stem
    default_status: str | None = None  # default: closed when labelled, else pending_review
    database_url: str | None = None
    database: Database | None = None
    workers: int = 1
    chunk_size: int = DEFAULT_CHUNK_SIZE
    resume: bool = False
    engine: str = "local"
    scheduler: Any = None
    model_path: Path | None = None
    routing_path: Path | None = None
    triager_factory: str | None = None  # "module:callable" instead of Triager.load (custom pipelines)
    job_id: str | None = None
    actor: str = "import"
    # Bad rows CSV. Default: <output_dir>/<job id>.import-errors.csv, a new file per job (the same one
    # on resume), so no earlier report is ever replaced; a path given here is the caller's choice.
    errors: Path | None = None
    output_dir: Path | None = None  # where the job's own files go; None: the working directory
    dedup: bool = True
    input_format: str | None = None
    encoding: str | None = None
    sheet: str | None = None
    stop: threading.Event | None = None
    progress_every: float = 0.2  # seconds between progress callbacks (0: after every chunk)
    extra: dict[str, Any] = field(default_factory=dict)

    def params(self) -> dict[str, Any]:
        keys: tuple[str, ...] = (
            "text_cols",
            "title_col",
            "id_col",
            "time_col",
            "label_col",
            "subcategory_col",
            "department_col",
        )
        keys += ("status_col", "result_col", "source", "source_name", "default_status", "dedup", "chunk_size")
        return {"input": str(self.input.resolve()), **{k: getattr(self, k) for k in keys}}


@dataclass(slots=True)
class _Item:
    rec: Record
    ref: str
    title: str | None
    body: str
    text_hash: str
    created_at: datetime | None
    status: str
    values: dict[str, Any]
    model_text: str = ""  # the model's normalised copy of title + body (never stored)
    group: tuple[str, float | None] | None = None


# ((records to classify, (record, error) pairs rejected before classification), their texts)
_Chunk = tuple[tuple[list[_Item], list[tuple[Record, InputError]]], LocatedTexts]


def _prepare(rec: Record, opts: ImportOptions, source_name: str) -> _Item:
    if rec.error is not None or rec.values is None:
        raise rec.error or InputError("unreadable record", code="bad_row")
    v = rec.values
    # Stored as written (Excel escapes decoded, line breaks cleaned); hash and model use the normalised copy.
    title = clean_text(cell_text(v.get(opts.title_col)), ooxml=True) or None if opts.title_col else None
    if title and len(title) > _TITLE_CHARS:
        raise InputError(
            f"title is too long ({len(title)} characters; the limit is {_TITLE_CHARS})",
            code="too_long",
            field="title",
        )
    body, model_body = read_text(join_text(v, opts.text_cols), ooxml=True)
    model_text = index_text(normalize_text(title or "") or None, model_body)  # = dupindex.model_text
    text_hash = hashlib.sha256(model_text.encode()).hexdigest()
    ext = cell_text(v.get(opts.id_col)) if opts.id_col else ""
    ref = f"{source_name}:{ext}" if ext else f"{source_name}:sha256:{text_hash[:32]}"
    created = None
    if opts.time_col and cell_text(v.get(opts.time_col)):
        created = parse_datetime(v.get(opts.time_col))
        if created is None:
            raise InputError(f"cannot read the time {cell_text(v.get(opts.time_col))!r}", code="bad_time")
        created = created.replace(tzinfo=LOCAL_TZ) if created.tzinfo is None else created
    label = cell_text(v.get(opts.label_col)) if opts.label_col else ""
    status = opts.default_status or (S.CLOSED.value if label else S.PENDING_REVIEW.value)
    raw_status = cell_text(v.get(opts.status_col)) if opts.status_col else ""
    if raw_status:
        mapped = STATUS_WORDS.get(raw_status) or STATUS_WORDS.get(raw_status.lower())
        if mapped is None:
            raise InputError(f"unknown status {raw_status!r}", code="bad_status")
        status = str(mapped)
    return _Item(rec, ref[:200], title, body, text_hash, created, status, v, model_text)


def run_import(opts: ImportOptions, progress: ProgressCallback | None = None) -> JobSummary:
    if opts.source not in {s.value for s in Source}:
        raise InputError(f"unknown source {opts.source!r}; use one of {', '.join(s.value for s in Source)}")
    db = opts.database or Database(opts.database_url)
    db.ensure_schema()
    source_name = opts.source_name or opts.input.stem
    spec = spec_of(opts)
    wanted = [*opts.text_cols] + [
        c for c in (opts.title_col, opts.id_col, opts.time_col, opts.label_col) if c
    ]
    wanted += [c for c in (opts.subcategory_col, opts.department_col, opts.status_col, opts.result_col) if c]
    reader = TabularReader(opts.input, fmt=opts.input_format, encoding=opts.encoding, sheet=opts.sheet)
    reader.require(wanted)
    job = start_job(
        db, "import", opts.params(), job_id=opts.job_id, resume=opts.resume, created_by=opts.actor
    )
    ckpt = dict(job.checkpoint or {})
    # Named after the job: unique, and the same file again when the job resumes.
    errors_path = opts.errors or (opts.output_dir or Path()) / f"{job.id}.import-errors.csv"
    errors_path.parent.mkdir(parents=True, exist_ok=True)
    fp = fingerprint(opts.input)
    if ckpt.get("fingerprint") not in (None, fp):
        reader.close()
        raise InputError("the input file changed since the interrupted import; run without --resume")
    ckpt["fingerprint"] = fp
    for key in ("rows_read", "rows_written", "rows_failed", "imported", "already", "duplicates"):
        ckpt.setdefault(key, 0)
    summary = JobSummary("import", resumed_at_row=ckpt["rows_read"])
    ticker = Ticker("import", progress, every=opts.progress_every)
    errors = TabularWriter(
        errors_path,
        ERROR_COLUMNS,
        encoding="utf-8-sig",
        offset=ckpt.get("errors_offset") if ckpt["rows_read"] else None,
    )
    engine = make_engine(
        opts.engine, workers=opts.workers, scheduler=opts.scheduler, init=warm, init_args=(spec,)
    )

    def units(_: dict[str, Any]) -> dict[str, int]:
        done, total = reader.progress()
        return {"done_units": done, "total_units": total}

    run = CheckpointedRun(db, job.id, summary, ticker, ckpt, units=units)
    summary.outputs["errors"] = str(errors_path)
    with run.running(_details, engine, errors, reader):
        # the workers' model: its version, and the template trigrams the duplicate groups leave out
        ckpt["model_version"], templates = engine_model_facts(engine, spec)
        dupes = FileDuplicates(templates=templates) if opts.dedup else None
        records = iter(reader)
        for _ in range(ckpt["rows_read"]):  # skip what the interrupted run committed, rebuilding groups
            rec = next(records, None)
            if rec is not None and dupes is not None:
                try:
                    item = _prepare(rec, opts, source_name)
                    dupes.assign(rec.row, item.ref, item.model_text)
                except InputError:
                    pass
        ticker.update(
            rows_read=ckpt["rows_read"], resumed_rows=ckpt["rows_read"], start_units=reader.progress()[0]
        )

        # (items, texts): bad records are reported here and not sent to workers
        def chunks() -> Iterator[_Chunk]:
            for chunk in ramped_chunks(records, opts.chunk_size):
                yield _split(chunk, opts, source_name)

        for (items, bad), results in engine.map(suggest_chunk, chunks(), spec):
            if opts.stop is not None and opts.stop.is_set():
                summary.interrupted = True
                break
            for rec, exc in bad:
                rec_id = cell_text((rec.values or {}).get(opts.id_col)) if opts.id_col else str(rec.row)
                errors.write({"row": rec.row, "line": rec.line, "id": rec_id, "error_code": exc.code,
                              "reason": exc.message})  # fmt: skip
            good = []
            for item, res in zip(items, results, strict=True):
                if "error" in res:
                    errors.write({"row": item.rec.row, "line": item.rec.line, "id": item.ref,
                                  "error_code": res["error_code"], "reason": res["error"]})  # fmt: skip
                else:
                    good.append((item, res))
            if dupes is not None:
                groups = dupes.assign_many([(i.rec.row, i.ref, i.model_text) for i, _ in good])
                for (item, _), group in zip(good, groups, strict=True):
                    item.group = group
            new = dict(run.checkpoint, errors_offset=errors.sync())
            with run.chunk(new) as session:  # the chunk and its checkpoint commit together
                for key, value in _store(session, job.id, opts, good).items():
                    new[key] += value
                new["rows_read"] += len(items) + len(bad)
                new["rows_failed"] += len(items) - len(good) + len(bad)
                new["rows_written"] = new["imported"]
    if opts.errors is None:
        drop_unused_errors_file(summary, errors_path)
    return summary


def _details(checkpoint: dict[str, Any]) -> dict[str, Any]:
    return {
        "imported": checkpoint["imported"],
        "already imported": checkpoint["already"],
        "exact duplicates skipped": checkpoint["duplicates"],
    }


def _split(chunk: list[Record], opts: ImportOptions, source_name: str) -> _Chunk:
    items: list[_Item] = []
    bad: list[tuple[Record, InputError]] = []
    for rec in chunk:
        try:
            items.append(_prepare(rec, opts, source_name))
        except InputError as exc:
            bad.append((rec, exc))
    limit = get_settings().max_text_chars  # title + body may pass it: the model reads the start
    texts = [i.model_text[:limit] for i in items]
    # the row's cells are the case's fields: a city profile reads its jurisdiction columns (辖区 …)
    fields = [{k: t for k, v in i.values.items() if (t := cell_text(v))} for i in items]
    return (items, bad), LocatedTexts(texts, fields)


def _store(
    session: Session, job_id: str, opts: ImportOptions, good: list[tuple[_Item, dict[str, Any]]]
) -> dict:
    counts = {"imported": 0, "already": 0, "duplicates": 0}
    if not good:
        return counts
    refs = [i.ref for i, _ in good] + [i.group[0] for i, _ in good if i.group and i.group[1] is not None]
    known = {
        c.source_ref: c for c in session.exec(select(CaseImport).where(col(CaseImport.source_ref).in_(refs)))
    }
    hashes = {c.text_hash: c for c in session.exec(
        select(CaseImport).where(col(CaseImport.text_hash).in_([i.text_hash for i, _ in good]))
    )}  # fmt: skip
    now = utcnow()
    fresh: list[tuple[_Item, dict[str, Any], Case]] = []
    copies: list[tuple[CaseImport, CaseImport]] = []  # (exact copy, the import it copies)
    for item, res in good:
        if item.ref in known:
            counts["already"] += 1
            continue
        first = hashes.get(item.text_hash)
        if first is not None:
            dup = CaseImport(source_ref=item.ref, text_hash=item.text_hash, job_id=job_id, imported_at=now,
                             duplicate_of=first.source_ref)  # fmt: skip
            copies.append((dup, first))
            known[item.ref] = dup
            counts["duplicates"] += 1
            continue
        case = _new_case(item, res, opts, now)
        imp = CaseImport(source_ref=item.ref, text_hash=item.text_hash, job_id=job_id, imported_at=now)
        known[item.ref] = hashes[item.text_hash] = imp
        fresh.append((item, res, case))
    by_day: dict[str, list[Case]] = {}
    for _, _, case in fresh:
        by_day.setdefault(local_day(case.created_at), []).append(case)
    for cases in by_day.values():
        for case, number in zip(cases, allocate(session, cases[0].created_at, len(cases)), strict=True):
            case.case_no = number
    for item, _, case in fresh:
        if item.group and item.group[1] is not None and item.group[0] in known:
            parent = known[item.group[0]]
            if parent.case_no:
                case.duplicate_candidates = [{"case_no": parent.case_no, "score": item.group[1]}]
        session.add(case)
        session.flush()
        imp = known[item.ref]
        imp.case_id, imp.case_no = case.id, case.case_no
        session.add(imp)
        record(session, case, actor=opts.actor, action="import", at=now,
               after={"source_ref": item.ref, "status": case.status, "category": case.category})  # fmt: skip
        counts["imported"] += 1
    fulltext.index_cases(session, [case for _, _, case in fresh])  # searchable like submitted cases
    for dup, first in copies:  # the first may have been created in this chunk: link after its flush
        dup.case_id, dup.case_no = first.case_id, first.case_no
        session.add(dup)
    session.flush()
    return counts


def _new_case(item: _Item, res: dict[str, Any], opts: ImportOptions, now: datetime) -> Case:
    v = item.values
    created = item.created_at or now
    hours = int(res.get("deadline_hours") or 168)
    priority = res["priority"] if res["priority"] in PRIORITY_RANK else "normal"
    label = cell_text(v.get(opts.label_col)) if opts.label_col else ""
    dept = cell_text(v.get(opts.department_col)) if opts.department_col else ""
    case = Case(
        case_no="", title=item.title, text=item.body, text_masked=mask_pii(item.body), source=opts.source,
        created_at=created, updated_at=now, status=item.status, priority=priority,
        priority_rank=PRIORITY_RANK[priority], deadline_hours=hours,
        deadline=created + timedelta(hours=hours),
        result=clean_text(cell_text(v.get(opts.result_col)), ooxml=True) or None if opts.result_col else None,
        version=1,
    )  # fmt: skip
    for attr, value in row_columns(res).items():
        setattr(case, attr, value)
    if label:
        case.category = label[:64]
        case.subcategory = (cell_text(v.get(opts.subcategory_col)) or None) if opts.subcategory_col else None
        case.reviewed_by, case.reviewed_at = opts.actor, created
        case.corrected = label != res["category"]
    if dept:
        case.department = dept[:128]
    return case
