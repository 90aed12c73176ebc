"""Admin batch jobs over HTTP: the same triage.batch runners as the CLI, with progress."""

from __future__ import annotations

import time

import pytest
from support.api_env import ELEVATOR, NOISE, WAGES, ApiEnv, running_app, temporary_database


@pytest.fixture(scope="module")
def api(tmp_path_factory, store_triager):
    root = tmp_path_factory.mktemp("jobs")
    with (
        temporary_database("sqlite", root) as url,
        running_app(url, store_triager, import_dir=root / "import", jobs_dir=root / "jobs") as env,
    ):
        (root / "import").mkdir()
        yield env


def _wait(api: ApiEnv, job_id: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = api.get("admin", f"/api/v1/jobs/{job_id}")
        assert r.status_code == 200, r.text
        if r.json()["status"] != "running":
            return r.json()
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still running after {timeout} s")


def test_only_admins_start_jobs(api: ApiEnv) -> None:
    assert api.post(None, "/api/v1/jobs", json={"kind": "reclassify"}).status_code == 401
    r = api.post("reviewer", "/api/v1/jobs", json={"kind": "reclassify"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"


def test_reclassify_job_reports_progress_and_summary(api: ApiEnv) -> None:
    for text in (ELEVATOR, NOISE):
        assert api.post("operator", "/api/v1/cases", json={"text": text}).status_code == 201
    r = api.post("admin", "/api/v1/jobs", json={"kind": "reclassify", "statuses": ["pending_review"]})
    assert r.status_code == 202, r.text
    done = _wait(api, r.json()["id"])
    assert done["status"] == "done", done
    assert done["summary"]["rows_read"] >= 2 and done["summary"]["rows_failed"] == 0


def test_import_job_loads_a_file(api: ApiEnv) -> None:
    settings = api.app.state.settings
    data = settings.import_dir / "old.csv"
    data.write_text(f"ref,content\nh-1,{WAGES}\nh-2,\n", encoding="utf-8")
    before = api.count_cases()
    r = api.post(
        "admin",
        "/api/v1/jobs",
        json={"kind": "import", "input": "old.csv", "text_cols": ["content"], "id_col": "ref"},
    )
    assert r.status_code == 202, r.text
    done = _wait(api, r.json()["id"])
    assert done["status"] == "done", done
    assert api.count_cases() == before + 1
    assert done["summary"]["rows_failed"] == 1  # the empty row is reported, not dropped silently
    errors = settings.jobs_dir / f"{done['id']}.import-errors.csv"  # in the jobs directory, per job
    assert errors.is_file() and "h-2" in errors.read_text(encoding="utf-8-sig")
    assert not (settings.import_dir / "old.import-errors.csv").exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "rebuild"}, "kind"),
        ({"kind": "reclassify", "statuses": ["lost"]}, "statuses"),
        ({"kind": "import", "text_cols": ["c"]}, "input"),
        ({"kind": "import", "input": "/nonexistent/file.csv", "text_cols": ["c"]}, "input"),
        ({"kind": "import", "input": "/etc/hostname"}, "text_cols"),
    ],
)
def test_bad_job_requests_name_the_field(api: ApiEnv, body: dict, field: str) -> None:
    r = api.post("admin", "/api/v1/jobs", json=body)
    assert r.status_code == 422, r.text
    assert field in (r.json()["error"].get("field") or "")


def test_unknown_job_is_404(api: ApiEnv) -> None:
    r = api.get("admin", "/api/v1/jobs/nope")
    assert r.status_code == 404 and r.json()["error"]["code"] == "job_not_found"


def test_finished_job_is_read_back_from_the_database(api: ApiEnv) -> None:
    r = api.post("admin", "/api/v1/jobs", json={"kind": "reclassify"})
    job_id = r.json()["id"]
    _wait(api, job_id)
    api.app.state.job_runner = None  # as after a restart, or on another worker process
    again = api.get("admin", f"/api/v1/jobs/{job_id}")
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "done" and again.json()["kind"] == "reclassify"
