"""Case search benchmark (issue #13) on SQLite and PostgreSQL: p50/p99 of ``q`` and ``phone`` searches.

    python bench/bench_search.py [--cases 100000] [--samples 200] [--no-pg] [--json]

``--cases`` synthetic cases over the whole lifecycle (tests/support/synthetic.py), each given an
address and a phone, then indexed by ``fulltext.backfill`` (what migration u002 does for existing
rows; its time is reported). Searches run through ``CaseService.search`` (the API's path, 50 rows,
newest first), unscoped and as one department; the query mix:

* ``common``: one word found in ~10 % of the cases ("噪音", "垃圾桶" …);
* ``everywhere``: a word in every case ("附近": the worst case for newest-first over matches);
* ``two_words``: a place and a problem (~1 %);
* ``address``: a street and house number (a handful of cases);
* ``case_no`` / ``case_day``: a case number, and the first 8 digits (that day's cases);
* ``phone``: exact phone search.

A ``q``-only search finds, scopes and orders its page in ``case_words`` (its copies of
``created_at`` and the scope columns, migration u004); the plans printed are those of the walk
(many matches) along ``ix_case_words_created`` / ``ix_case_words_department_created``.

Target: p99 of every ``q`` kind ≤ 50 ms. Reference measured in the same run: a primary-key lookup of
one case (``reference_get``); the figures are printed as ratios to its p99 too.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))  # support/: the helpers shared with the tests
sys.path.insert(0, str(REPO / "bench"))
from bench_store import PG_ADMIN, Backend, explain, pct, timed  # noqa: E402

STREETS = ["幸福大道", "人民路", "解放西路", "滨江路", "建设北路", "龙华路", "青年路", "中山路"]
COMMON = ["噪音", "垃圾桶", "红绿灯", "电梯", "工资", "过期食品", "医生", "小摊贩"]
PLACES = ["阳光小区", "锦绣花园", "新华村", "人民公园"]
KINDS = ("common", "everywhere", "two_words", "address", "case_no", "case_day", "phone")


def _address(i: int) -> str:
    return f"{STREETS[i % len(STREETS)]}{(i * 7919) % 997 + 1}号"


def _phone(i: int) -> str:
    return f"139{(i * 104_729) % 100_000_000:08d}"


def _decorate(db) -> None:  # noqa: ANN001
    """Give every synthetic case an address and a phone (the loader leaves both empty)."""
    import sqlalchemy as sa

    with db.engine.begin() as conn:
        ids = [r[0] for r in conn.execute(sa.text("SELECT id FROM cases"))]
        rows = [{"i": i, "a": _address(i), "p": _phone(i)} for i in ids]
        conn.execute(sa.text("UPDATE cases SET address = :a, reporter_contact = :p WHERE id = :i"), rows)


def bench(url: str, n_cases: int, samples: int) -> dict:
    import sqlalchemy as sa
    from support.synthetic import bulk_insert_cases

    from triage.store import fulltext
    from triage.store.db import Database
    from triage.store.search import CaseFilter, CaseScope, search_statement
    from triage.store.service import CaseService

    db = Database(url, sqlite_synchronous="NORMAL")
    db.upgrade()
    start = time.perf_counter()
    bulk_insert_cases(db, n_cases, audit=False)
    _decorate(db)
    load_s = time.perf_counter() - start
    start = time.perf_counter()
    with db.engine.begin() as conn:
        indexed = fulltext.backfill(conn)
    index_s = time.perf_counter() - start
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE" if db.is_postgres else "ANALYZE")
    svc = CaseService(db)
    with db.engine.connect() as conn:
        ids = [r[0] for r in conn.execute(sa.text("SELECT id FROM cases"))]
        numbers = [r[0] for r in conn.execute(sa.text("SELECT case_no FROM cases"))]
    rng = random.Random(3)
    picks = [rng.choice(ids) for _ in range(samples)]
    queries = {
        "common": [rng.choice(COMMON) for _ in range(samples)],
        "everywhere": ["附近"] * samples,
        "two_words": [f"{rng.choice(PLACES)} {rng.choice(COMMON)}" for _ in range(samples)],
        "address": [_address(i) for i in picks],
        "case_no": [rng.choice(numbers) for _ in range(samples)],
        "case_day": [rng.choice(numbers)[:8] for _ in range(samples)],
    }
    phones = [_phone(i) for i in picks]
    dept = CaseScope(department_code="eco_env")
    svc.search(CaseFilter(q="噪音"))  # warm the pool, the tokenizer and the caches
    res: dict = {"cases": n_cases, "load_s": round(load_s, 1), "index_s": round(index_s, 1)}
    res["indexed"] = indexed
    for scope_name, scope in (("all", None), ("department", dept)):
        for kind, qs in queries.items():
            res[f"{scope_name}.{kind}"] = timed(
                lambda it=iter(qs), sc=scope: svc.search(CaseFilter(q=next(it)), sc), samples
            )
        res[f"{scope_name}.phone"] = timed(
            lambda it=iter(phones), sc=scope: svc.search(CaseFilter(phone=next(it)), sc), samples
        )
    hits = [len(svc.search(CaseFilter(phone=p, limit=5))) for p in phones[:20]]
    res["phone_hits_min"] = min(hits)
    it_n = iter(numbers * 2)
    res["reference_get"] = timed(lambda: svc.get(next(it_n)), samples)
    res["plan_common"] = explain(db, search_statement(CaseFilter(q="噪音"), None, svc.clock()))
    res["plan_everywhere"] = explain(db, search_statement(CaseFilter(q="附近"), None, svc.clock()))
    res["plan_department"] = explain(db, search_statement(CaseFilter(q="噪音"), dept, svc.clock()))
    db.dispose()
    return res


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument(
        "--pg-url", default=PG_ADMIN, help="any database on the server (used to create others)"
    )
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    kinds = ["sqlite"] + ([] if args.no_pg else ["postgresql"])
    report: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        for kind in kinds:
            backend = Backend(kind, args.pg_url, Path(tmp))
            try:
                report[kind] = bench(backend.fresh(), args.cases, args.samples)
            finally:
                backend.cleanup()
    if args.json:
        print(json.dumps(report, ensure_ascii=False, default=str))
        return
    for kind in kinds:
        r = report[kind]
        ref = pct(r["reference_get"], 99)
        print(f"\n== {kind}: {r['cases']:,} cases (load {r['load_s']} s, word index {r['index_s']} s)")
        print(f"  reference_get p50 {pct(r['reference_get'], 50):.2f} ms  p99 {ref:.2f} ms")
        worst = 0.0
        for scope in ("all", "department"):
            for k in KINDS:
                v = r[f"{scope}.{k}"]
                p99 = pct(v, 99)
                worst = max(worst, p99) if k != "phone" else worst
                print(
                    f"  {scope:10s} {k:10s} p50 {pct(v, 50):6.2f} ms  p99 {p99:6.2f} ms  "
                    f"p99/get p99 {p99 / ref:6.1f}"
                )
        print(f"  worst q p99 {worst:.2f} ms (target ≤ 50 ms: {'met' if worst <= 50 else 'NOT met'})")
        print(f"  phone hits ≥ {r['phone_hits_min']}; plan 噪音: {r['plan_common']}")
        print(f"  plan 附近: {r['plan_everywhere']}")
        print(f"  plan 噪音, one department: {r['plan_department']}")


if __name__ == "__main__":
    main()
