"""The dashboard's hot-issue clustering runs in another process (its seconds of Python must not
hold the web worker's GIL); other computations, and an in-memory database's, stay in the thread."""

from __future__ import annotations

import os
from functools import partial

from api.web.dashboard import HotIssueCache, hot_issues_job
from triage.store import stats


def test_picklable_job_runs_in_a_separate_process() -> None:
    cache = HotIssueCache()
    assert cache.get(("k",), 1, partial(os.getpid)) == (None, True)  # nothing yet, computing
    cache.wait()
    pid, busy = cache.get(("k",), 1, partial(os.getpid))
    assert not busy and isinstance(pid, int) and pid != os.getpid()


def test_other_callables_run_in_this_process() -> None:
    cache = HotIssueCache()
    cache.get(("k",), 1, os.getpid)
    cache.wait()
    assert cache.get(("k",), 1, os.getpid)[0] == os.getpid()


def test_dashboard_job_clusters_the_cases_of_a_file_database(case_service) -> None:
    for text in ["南门广场晚上广场舞音响太吵，影响休息。", "南门广场每晚跳广场舞声音很大，吵得睡不着。"] * 2:
        case_service.submit(text, title="广场舞噪音", actor="op")
    job = hot_issues_job(case_service, stats.StatsScope(), 30)
    assert isinstance(job, partial)  # a URL another process can open
    cache = HotIssueCache()
    cache.get(("all",), 1, job)
    cache.wait()
    issues, _ = cache.get(("all",), 1, job)
    assert issues and issues[0].size >= 2
