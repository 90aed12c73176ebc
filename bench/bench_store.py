"""Case store benchmark on SQLite and PostgreSQL: queue page latency, submit throughput, claim concurrency.

    python bench/bench_store.py [--cases 100000] [--submits 300] [--claim-cases 1000] [--no-pg] [--json]

* Queue page: p50/p99 of the review-queue page query (50 rows) with ``--cases`` pending cases
  (first page, keyset pages at random depths, an OFFSET page); target p99 ≤ 20 ms. Reference in
  the same run: a primary-key lookup of one case (``get``).
* Submit: cases/s of ``CaseService.submit`` (triage + store, committed) and ``submit_many``
  (batches of 100), against ``Triager.triage`` / ``triage_many`` alone on the same texts.
* Concurrency: 8 worker processes on PostgreSQL, 4 on SQLite, claim from ``--claim-cases``
  pending cases until the queue is empty; every case must be claimed exactly once, no errors.

PostgreSQL: a throw-away database ``triage_bench_<random>`` is created on ``--pg-url``'s
server and dropped at the end. Texts for submit come from ../shared messages.csv when present,
else from the synthetic templates.
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing as mp
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))  # support/: the helpers shared with the tests
MESSAGES = REPO.parent / "shared" / "data" / "tipdm2020" / "messages.csv"
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SQLITE_SYNC = "FULL"  # --sqlite-sync


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def timed(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


# -- databases ------------------------------------------------------------------------------------
class Backend:
    """A fresh database per use: a temp SQLite file or a new PostgreSQL database."""

    def __init__(self, kind: str, pg_admin: str, tmp: Path) -> None:
        self.kind, self.pg_admin, self.tmp, self.made = kind, pg_admin, tmp, []

    def fresh(self) -> str:
        name = f"triage_bench_{uuid.uuid4().hex[:10]}"
        if self.kind == "sqlite":
            return f"sqlite:///{self.tmp / (name + '.db')}"
        import psycopg
        from sqlalchemy.engine import make_url

        with psycopg.connect(self.pg_admin.replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.made.append(name)
        return make_url(self.pg_admin).set(database=name).render_as_string(hide_password=False)

    def cleanup(self) -> None:
        if not self.made:
            return
        import psycopg

        with psycopg.connect(self.pg_admin.replace("+psycopg", ""), autocommit=True) as conn:
            for name in self.made:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def open_db(url: str):
    from triage.store.db import Database

    db = Database(url, sqlite_synchronous=SQLITE_SYNC)
    db.upgrade()
    return db


# -- queue page -----------------------------------------------------------------------------------
def bench_queue(url: str, n_cases: int, samples: int) -> dict:
    from support.synthetic import bulk_insert_pending

    from triage.store import queue as q
    from triage.store.service import CaseService

    db = open_db(url)
    start = time.perf_counter()
    bulk_insert_pending(db, n_cases, audit=False)
    load_s = time.perf_counter() - start
    if db.is_postgres:  # what autovacuum does after a bulk load (statistics, visibility map)
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE cases")
    svc = CaseService(db)
    everything = svc.queue(limit=n_cases, include_claimed=True)
    rng = random.Random(1)
    cursors = [q.QueueCursor.after(everything[rng.randrange(n_cases - 100)]) for _ in range(samples)]
    numbers = [c.case_no for c in rng.sample(everything, samples)]
    del everything
    svc.queue(limit=50)  # warm the cache and the connection pool
    it_c, it_n = iter(cursors), iter(numbers)
    res = {
        "cases": n_cases,
        "bulk_load_s": round(load_s, 1),
        "first_page": timed(lambda: svc.queue(limit=50), samples),
        "keyset_page": timed(lambda: svc.queue(limit=50, after=next(it_c)), samples),
        "offset_1000_page": timed(lambda: svc.queue(limit=50, offset=1000), samples),
        "count": timed(svc.queue_count, max(20, samples // 10)),
        "reference_get": timed(lambda: svc.get(next(it_n)), samples),
        "plan": explain(db, q.queue_query(svc.clock()).limit(50)),
    }
    db.dispose()
    return res


def explain(db, stmt) -> str:
    with db.engine.connect() as conn:
        compiled = stmt.compile(dialect=conn.dialect)
        sql = str(compiled)
        if db.is_postgres:
            rows = conn.exec_driver_sql("EXPLAIN (COSTS OFF) " + sql, compiled.params).fetchall()
            return " / ".join(r[0].strip() for r in rows)
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, tuple(compiled.params.values())).fetchall()
        return "; ".join(r[-1] for r in rows)


# -- concurrency ----------------------------------------------------------------------------------
def _claimer(url: str, sync: str, name: str, barrier, out) -> None:
    from triage.store.db import Database
    from triage.store.service import CaseService

    try:
        svc = CaseService(Database(url, sqlite_synchronous=sync))
        svc.queue_count()  # connect before the start line
        barrier.wait(timeout=300)
        started, got = time.time(), []
        while (case := svc.claim_next(name)) is not None:
            got.append(case.case_no)
        out.put((name, got, None, started, time.time()))
    except Exception as exc:  # reported, counted as a failure
        out.put((name, [], repr(exc), time.time(), time.time()))


def bench_claims(url: str, n_cases: int, workers: int) -> dict:
    from support.synthetic import bulk_insert_pending

    db = open_db(url)
    bulk_insert_pending(db, n_cases)
    db.dispose()
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    barrier = ctx.Barrier(workers)
    args = [(url, SQLITE_SYNC, f"w{i}", barrier, out) for i in range(workers)]
    procs = [ctx.Process(target=_claimer, args=a) for a in args]
    for p in procs:
        p.start()
    results = [out.get(timeout=900) for _ in procs]
    for p in procs:
        p.join()
    elapsed = max(r[4] for r in results) - min(r[3] for r in results)
    counts = Counter(no for _, got, *_ in results for no in got)
    errors = [r[2] for r in results if r[2]]
    return {
        "workers": workers,
        "cases": n_cases,
        "claimed_distinct": len(counts),
        "claimed_twice": sum(1 for v in counts.values() if v > 1),
        "errors": errors,
        "exactly_once": len(counts) == n_cases and set(counts.values()) == {1} and not errors,
        "per_worker": sorted(len(r[1]) for r in results),
        "seconds": round(elapsed, 2),
        "claims_per_s": round(n_cases / elapsed, 1),
    }


# -- submit -------------------------------------------------------------------------------------------
def load_texts(n: int) -> tuple[list[str], str]:
    if MESSAGES.exists():
        with MESSAGES.open(encoding="utf-8-sig", newline="") as fh:
            rows = [r["body"] for r in csv.DictReader(fh) if r.get("body", "").strip()]
        random.Random(5).shuffle(rows)
        return rows[:n], "messages.csv"
    from support.synthetic import petition_text

    rng = random.Random(5)
    return [petition_text(rng)[1] for _ in range(n)], "synthetic"


def bench_submit(url: str, triager, texts: list[str]) -> dict:
    from triage.store.service import CaseService

    db = open_db(url)
    svc = CaseService(db, triager)
    half = len(texts) // 2
    single, batch = texts[:half], texts[half:]
    for t in single[:10]:  # warm up (index, pools, caches); not counted
        triager.triage(t)
    start = time.perf_counter()
    for t in single:
        svc.submit(t, source="hotline")
    submit_rate = len(single) / (time.perf_counter() - start)
    triager.duplicate_index.clear()
    start = time.perf_counter()
    for t in single:
        triager.triage(t)
    triage_rate = len(single) / (time.perf_counter() - start)
    svc.rebuild_duplicate_index()
    start = time.perf_counter()
    for i in range(0, len(batch), 100):
        svc.submit_many([{"text": t, "source": "batch"} for t in batch[i : i + 100]])
    many_rate = len(batch) / (time.perf_counter() - start)
    start = time.perf_counter()
    for i in range(0, len(batch), 100):
        triager.triage_many(batch[i : i + 100])
    triage_many_rate = len(batch) / (time.perf_counter() - start)
    db.dispose()
    return {
        "submit_per_s": round(submit_rate, 1),
        "triage_per_s": round(triage_rate, 1),
        "submit_vs_triage": round(submit_rate / triage_rate, 3),
        "submit_many_per_s": round(many_rate, 1),
        "triage_many_per_s": round(triage_many_rate, 1),
        "submit_many_vs_triage_many": round(many_rate / triage_many_rate, 3),
    }


def summarize(name: str, values: list[float]) -> str:
    return f"{name}: p50 {statistics.median(values):.2f} ms, p99 {pct(values, 99):.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--submits", type=int, default=300)
    parser.add_argument("--claim-cases", type=int, default=1000)
    parser.add_argument(
        "--pg-url", default=PG_ADMIN, help="any database on the server (used to create others)"
    )
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument(
        "--sqlite-sync", default="FULL", choices=["FULL", "NORMAL"], help="SQLite synchronous"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    global SQLITE_SYNC
    SQLITE_SYNC = args.sqlite_sync

    from triage.pipeline import Triager

    triager = Triager.load()
    texts, source = load_texts(args.submits)
    report: dict = {"texts": source, "sqlite_synchronous": SQLITE_SYNC}
    kinds = ["sqlite"] + ([] if args.no_pg else ["postgresql"])
    with tempfile.TemporaryDirectory() as tmp:
        for kind in kinds:
            backend = Backend(kind, args.pg_url, Path(tmp))
            try:
                queue = bench_queue(backend.fresh(), args.cases, args.samples)
                claims = bench_claims(backend.fresh(), args.claim_cases, 8 if kind == "postgresql" else 4)
                submit = bench_submit(backend.fresh(), triager, texts)
            finally:
                backend.cleanup()
            report[kind] = {"queue": queue, "claims": claims, "submit": submit}
    if args.json:
        print(json.dumps(report, ensure_ascii=False, default=str))
        return
    for kind in kinds:
        r = report[kind]
        qr = r["queue"]
        sync = f", synchronous={SQLITE_SYNC}" if kind == "sqlite" else ""
        print(f"\n== {kind}{sync}: {qr['cases']:,} pending cases (bulk load {qr['bulk_load_s']} s)")
        for key in ("first_page", "keyset_page", "offset_1000_page", "count", "reference_get"):
            print("  " + summarize(key, qr[key]))
        ratio = pct(qr["first_page"], 99) / pct(qr["reference_get"], 99)
        print(f"  first page p99 / get p99 = {ratio:.2f}   plan: {qr['plan']}")
        c = r["claims"]
        print(
            f"  claims: {c['workers']} workers × {c['cases']} cases → distinct {c['claimed_distinct']}, "
            f"twice {c['claimed_twice']}, errors {len(c['errors'])}, exactly once: {c['exactly_once']}, "
            f"{c['claims_per_s']} claims/s ({c['seconds']} s), per worker {c['per_worker']}"
        )
        s = r["submit"]
        print(
            f"  submit ({report['texts']}): {s['submit_per_s']}/s vs triage {s['triage_per_s']}/s "
            f"(ratio {s['submit_vs_triage']}); submit_many {s['submit_many_per_s']}/s vs triage_many "
            f"{s['triage_many_per_s']}/s (ratio {s['submit_many_vs_triage_many']})"
        )


if __name__ == "__main__":
    main()
