"""Cost of authentication on SQLite and PostgreSQL: bearer tokens, web sessions, password hashing.

    python bench/bench_auth.py [--samples 2000] [--no-pg] [--json]

Per call, in-process (no HTTP), over a fresh database with the test users:

* ``token_cached``: ``TokenCache.authenticate`` with the principal cached — one indexed read of
  the token joined with its user (revoked? disabled? auth_version?), no grid query;
* ``token_uncached``: ``authenticate_token``, the full look-up the cache saves (token, user, grids);
* ``token_memory_only``: the dictionary hit the old cache served for 10 s without asking the
  database (why a disabled user kept working): the floor, for comparison;
* ``session_resolve``: ``SessionStore.resolve`` for a page request (session joined with user, grids);
* ``session_before``: what a page request cost before server-side sessions (user by id, grids);
* ``reference_select1``: ``SELECT 1`` through a fresh ORM session: the cost of any query at all.

Ratios are to ``reference_select1`` in the same run. Password hashing (scrypt N=2^14, r=8, p=5)
and a login of a known vs an unknown name (dummy hash) are timed a few times each.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))  # support/: the helpers shared with the tests
sys.path.insert(0, str(REPO / "bench"))
from bench_store import PG_ADMIN, Backend, pct, timed  # noqa: E402


def bench_backend(url: str, samples: int) -> dict:
    import sqlalchemy as sa
    from support.api_env import seed_users

    from api.security import TokenCache, authenticate_password, authenticate_token, hash_token
    from triage.route.router import Router
    from triage.store.catalog import Catalog
    from triage.store.db import Database
    from triage.store.registry import sync_departments
    from triage.store.sessions import SessionStore, active_user

    db = Database(url)
    db.upgrade()
    sync_departments(db, Catalog(Router.load(None)))
    tokens = seed_users(db)
    token = tokens["grid1"]
    cache = TokenCache()
    cache.authenticate(db, token)  # warm: principal cached, last_used_at written
    memory = {hash_token(token): cache.authenticate(db, token)}
    store = SessionStore(db)
    with db.session() as session:
        uid = session.execute(sa.text("SELECT id FROM users WHERE username = 'grid1'")).scalar_one()
    sid = store.open(uid)
    store.resolve(sid)

    def uncached() -> None:
        with db.session() as session:
            assert authenticate_token(session, token) is not None

    def select1() -> None:
        with db.session() as session:
            session.execute(sa.text("SELECT 1")).scalar_one()

    runs = {
        "token_cached": lambda: cache.authenticate(db, token),
        "token_uncached": uncached,
        "token_memory_only": lambda: memory.get(hash_token(token)),
        "session_resolve": lambda: store.resolve(sid),
        "session_before": lambda: active_user(db, uid),  # what a page cost before: user by id + grids
        "reference_select1": select1,
    }
    for fn in runs.values():  # warm up connections and statement caches
        timed(fn, 50)
    out: dict = {}
    for name, fn in runs.items():
        values = timed(fn, samples)
        out[name] = {"p50_ms": round(pct(values, 50), 4), "p99_ms": round(pct(values, 99), 4)}
    ref = out["reference_select1"]["p50_ms"]
    for name in runs:
        out[name]["ratio_to_select1"] = round(out[name]["p50_ms"] / ref, 2)

    def login(name: str) -> float:
        start = time.perf_counter()
        authenticate_password(db, name, "not-the-password")
        return (time.perf_counter() - start) * 1000

    known = statistics.median(login("reviewer") for _ in range(5))
    unknown = statistics.median(login("no-such-user") for _ in range(5))
    out["login_known_ms"], out["login_unknown_ms"] = round(known, 1), round(unknown, 1)
    out["login_unknown_to_known"] = round(unknown / known, 2)
    db.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--pg-url", default=PG_ADMIN)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from api.security import hash_password

    hashing = [timed(lambda: hash_password("a-password-of-some-length"), 1)[0] for _ in range(5)]
    result: dict = {"hash_password_ms": round(statistics.median(hashing), 1)}
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ["sqlite"] + ([] if args.no_pg else ["postgresql"]):
            backend = Backend(kind, args.pg_url, Path(tmp))
            try:
                result[kind] = bench_backend(backend.fresh(), args.samples)
            finally:
                backend.cleanup()
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"scrypt hash_password: {result['hash_password_ms']} ms")
    for kind in ("sqlite", "postgresql"):
        if kind not in result:
            continue
        print(f"\n{kind}")
        for name, row in result[kind].items():
            if isinstance(row, dict):
                p50, p99, ratio = row["p50_ms"], row["p99_ms"], row["ratio_to_select1"]
                print(f"  {name:<20} p50 {p50:>8.3f} ms  p99 {p99:>8.3f} ms  ×{ratio}")
            else:
                print(f"  {name:<20} {row}")


if __name__ == "__main__":
    main()
