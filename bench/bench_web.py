"""Web UI page speed with a large case database, on SQLite and PostgreSQL.

    python bench/bench_web.py [--cases 100000] [--samples 30] [--cold-samples 10] [--no-pg] [--json]

The real app (``create_app``, API + pages) runs over a fresh database holding ``--cases``
cases spread over the whole lifecycle and the last 90 days (``bulk_insert_cases``). Logged in
as ``admin`` and as the department user ``dept_housing`` (HTTP test client, cookies and all),
each page is requested ``--samples`` times; p50/p99 are printed in ms and as a ratio to
``GET /healthz`` measured in the same run (the reference: routing, middleware, no database).

The dashboard (统计看板) caches its figures per data version, so it is timed twice:
*cold* is the first load after a real change to a case (a dispatched case is started through
``CaseService.start`` before each sample), *warm* the loads that follow; each dashboard is
loaded once before its samples (templates, the clustering process, the first clustering), as
every other page is. Hot-issue clustering runs in a separate, lower-priority process and is not
part of a page load; it is waited for between cold samples, and timed on its own (in-thread).

PostgreSQL: a throw-away database ``triage_bench_<random>`` is created on ``--pg-url``'s
server (VACUUM ANALYZE after the bulk load, as autovacuum would, then a CHECKPOINT; SQLite's WAL is
checkpointed likewise) and dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))  # support/: the helpers shared with the tests
sys.path.insert(0, str(REPO / "bench"))
from bench_store import PG_ADMIN, Backend, pct, timed  # noqa: E402

SECRET = "bench-web-session-secret-0123456789abcdefghij"
_CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')


def login(app, name: str):
    """A test client with ``name``'s session cookie (password ``pw-<name>``, as seeded)."""
    from fastapi.testclient import TestClient

    client = TestClient(app, follow_redirects=False)
    client.headers["Accept"] = "text/html"
    token = _CSRF.search(client.get("/login").text).group(1)
    r = client.post("/login", data={"username": name, "password": f"pw-{name}", "csrf_token": token})
    assert r.status_code == 303, (name, r.status_code)
    return client


def page(client, path: str) -> Callable[[], None]:
    def fetch() -> None:
        r = client.get(path)
        assert r.status_code == 200, (path, r.status_code, r.text[:300])

    return fetch


def load(url: str, n_cases: int) -> dict:
    from support.synthetic import bulk_insert_cases

    from triage.store.db import Database

    db = Database(url)
    db.upgrade()
    start = time.perf_counter()
    counts = bulk_insert_cases(db, n_cases)
    seconds = time.perf_counter() - start
    # Start the timed part from a database at rest, not in the middle of writing out the bulk
    # load: PostgreSQL's next checkpoint would flush it during the samples (and SQLite's WAL
    # would be copied back by whichever request commits next).
    if db.is_postgres:
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
            conn.exec_driver_sql("CHECKPOINT")
    else:
        with db.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.dispose()
    return {"bulk_load_s": round(seconds, 1), "statuses": counts}


def bench_pages(url: str, triager, samples: int, cold_samples: int) -> dict:
    import sqlalchemy as sa
    from support.api_env import running_app

    from api.web.dashboard import hot_issues_job
    from triage.store.models import Case, CaseStatus
    from triage.store.stats import StatsScope

    start = time.perf_counter()
    with running_app(url, triager, session_secret=SECRET) as env:
        startup = time.perf_counter() - start
        app, service = env.app, env.app.state.service
        admin, dept = login(app, "admin"), login(app, "dept_housing")
        with service.db.session() as s:
            numbers = list(
                s.execute(sa.select(Case.case_no).order_by(sa.func.random()).limit(samples + 1)).scalars()
            )
            ready = sa.select(Case.case_no).where(Case.status == CaseStatus.DISPATCHED)
            dispatched = list(s.execute(ready.limit(3 * cold_samples + 5)).scalars())
        it_no, it_change = iter(numbers), iter(dispatched)

        def change() -> None:  # a real lifecycle step: a new audit event, a new data version
            service.start(next(it_change), "bench")

        def cold(client, path: str) -> list[float]:
            """One load after each change; background clustering is waited for, not timed."""
            out = []
            for _ in range(cold_samples):
                change()
                app.state.web_hot.wait(600)
                out.append(timed(page(client, path), 1)[0])
            app.state.web_hot.wait(600)
            return out

        ninety = (date.today() - timedelta(days=89)).isoformat()
        pages = {
            "healthz (reference)": page(env.client, "/healthz"),
            "review queue": page(admin, "/review"),
            "list: problems": page(admin, "/grids?view=problems"),
            "list: completions": page(admin, "/grids?view=completions"),
            "list: cases p.40": page(admin, "/grids?view=cases&page=40"),
            "case page": lambda: page(admin, f"/cases/{next(it_no)}")(),
            "desk (dept todo)": page(dept, "/desk"),
            "desk (dept overdue)": page(dept, "/desk?tab=overdue"),
            "review queue, filtered": page(admin, "/review?category=城乡建设&overdue=1"),
            "ledger: requests": page(admin, "/ledgers?kind=requests"),
            "ledger: requests, grid": page(admin, "/ledgers?kind=requests&grid=G001"),
            "ledger: disputes": page(admin, "/ledgers?kind=disputes"),
            "ledger: deputies": page(admin, "/ledgers?kind=deputies"),
            "ledger: departments": page(admin, "/ledgers?kind=departments"),
            "ledger: departments (dept)": page(dept, "/ledgers?kind=departments"),
            "ledger: requests 90 d": page(admin, f"/ledgers?kind=requests&date_from={ninety}"),
        }
        res: dict[str, list[float]] = {}
        for name, fn in pages.items():
            fn()  # warm-up (templates, pool)
            res[name] = timed(fn, samples)
        for client, path in ((admin, "/dashboard"), (admin, "/dashboard?days=90"), (dept, "/dashboard")):
            page(client, path)()  # warm-up: templates, the clustering process, the first clustering
        app.state.web_hot.wait(600)
        res["dashboard cold (admin)"] = cold(admin, "/dashboard")
        res["dashboard warm (admin)"] = timed(page(admin, "/dashboard"), samples)
        res["dashboard 90 d cold (admin)"] = cold(admin, "/dashboard?days=90")
        res["dashboard cold (dept)"] = cold(dept, "/dashboard")
        t0 = time.perf_counter()
        hot_issues_job(service, StatsScope(), 30)()  # what the admin's dashboard clusters (here, in-thread)
        cluster_s = time.perf_counter() - t0
    return {"startup_s": round(startup, 1), "hot_cluster_s": round(cluster_s, 2), "pages": res}


def row(name: str, values: list[float], ref: float) -> dict:
    p50, p99 = statistics.median(values), pct(values, 99)
    return {"page": name, "n": len(values), "p50_ms": round(p50, 1), "p99_ms": round(p99, 1),
            "p50_x_ref": round(p50 / ref, 1), "p99_x_ref": round(p99 / ref, 1)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--cold-samples", type=int, default=10)
    parser.add_argument(
        "--pg-url", default=PG_ADMIN, help="any database on the server (used to create others)"
    )
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("TRIAGE_LOG_LEVEL", "WARNING")

    from triage.pipeline import Triager

    triager = Triager.load()
    report: dict = {"cases": args.cases}
    kinds = ["sqlite"] + ([] if args.no_pg else ["postgresql"])
    with tempfile.TemporaryDirectory() as tmp:
        for kind in kinds:
            backend = Backend(kind, args.pg_url, Path(tmp))
            try:
                url = backend.fresh()
                loaded = load(url, args.cases)
                result = bench_pages(url, triager, args.samples, args.cold_samples)
            finally:
                backend.cleanup()
            ref = statistics.median(result["pages"]["healthz (reference)"])
            rows = [row(name, values, ref) for name, values in result["pages"].items()]
            del result["pages"]
            report[kind] = {**loaded, **result, "rows": rows}
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
        return
    for kind in kinds:
        r = report[kind]
        load_s, start_s = r["bulk_load_s"], r["startup_s"]
        print(f"\n== {kind}: {args.cases:,} cases (bulk load {load_s} s, app start {start_s} s)")
        print(f"   statuses: {r['statuses']}")
        print(f"   {'page':<30}{'n':>4}{'p50 ms':>10}{'p99 ms':>10}{'p50 ×ref':>10}{'p99 ×ref':>10}")
        for x in r["rows"]:
            print(
                f"   {x['page']:<30}{x['n']:>4}{x['p50_ms']:>10}{x['p99_ms']:>10}"
                f"{x['p50_x_ref']:>10}{x['p99_x_ref']:>10}"
            )
        print(f"   hot-issue clustering (background, 30 d): {r['hot_cluster_s']} s")


if __name__ == "__main__":
    main()
