"""Durability: a case whose submit returned survives kill -9 of the process (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

from triage.store.db import Database
from triage.store.service import CaseService

CHILD = textwrap.dedent(
    """
    import sys, time
    from triage.pipeline import Triager
    from triage.store.db import Database
    from triage.store.service import CaseService

    svc = CaseService(Database(sys.argv[1]), Triager.load())
    case = svc.submit("建设路18号门前的树被大风刮断了，横在人行道上，行人只能绕到机动车道走，很危险。",
                      source="hotline", reporter_contact="13700001234")
    print(case.case_no, flush=True)
    time.sleep(600)  # killed long before this ends
    """
)


def test_submitted_case_survives_sigkill(store_db) -> None:
    url = store_db.engine.url.render_as_string(hide_password=False)
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        line = proc.stdout.readline().strip()
        assert line.isdigit(), f"child failed: {proc.stderr.read() if proc.poll() is not None else line}"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL

    fresh = Database(url)  # "restart": a new engine, new connections
    try:
        svc = CaseService(fresh)
        case = svc.get(line)
        assert case.status == "pending_review" and case.reporter_contact == "13700001234"
        assert [e.action for e in svc.audit_trail(line)] == ["submit"]
    finally:
        fresh.dispose()
