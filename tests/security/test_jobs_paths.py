"""Finding 7: admin jobs read and wrote anywhere. Import jobs over HTTP read only files inside
``TRIAGE_IMPORT_DIR`` and write their errors report only inside ``TRIAGE_JOBS_DIR``; every path
that could leave the import directory is refused, with one answer whether or not the file
exists; unknown fields are refused. On SQLite and PostgreSQL (the jobs live in the database).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from support.api_env import WAGES, ApiEnv, postgres_available, running_app, temporary_database

from triage.batch.importer import ImportOptions, run_import
from triage.batch.jobs import confined_file
from triage.errors import InputError

CSV = f"ref,content\nr-1,{WAGES}\nr-2,\n"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def jobs_env(request, tmp_path_factory, store_triager):
    """The app with its own import and jobs directories, next to a directory of other files."""
    if request.param == "postgresql" and not postgres_available():
        from conftest import pg_unavailable

        pg_unavailable("127.0.0.1:5432")
    root = tmp_path_factory.mktemp(f"jobs-{request.param}")
    (root / "import").mkdir()
    (root / "elsewhere").mkdir()
    (root / "elsewhere" / "secret.csv").write_text(CSV, encoding="utf-8")
    (root / "elsewhere" / "secret.import-errors.csv").write_text("keep me\n", encoding="utf-8")
    with (
        temporary_database(request.param, root) as url,
        running_app(url, store_triager, import_dir=root / "import", jobs_dir=root / "jobs") as env,
    ):
        env.root = root  # type: ignore[attr-defined]
        yield env


def _import(env: ApiEnv, name: str, **extra) -> object:
    body = {"kind": "import", "input": name, "text_cols": ["content"], "id_col": "ref", **extra}
    return env.post("admin", "/api/v1/jobs", json=body)


def _wait(env: ApiEnv, job_id: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = env.get("admin", f"/api/v1/jobs/{job_id}").json()
        if state["status"] != "running":
            return state
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still running")


def test_a_file_in_the_import_directory_is_imported_and_reported_in_the_jobs_directory(jobs_env) -> None:
    root: Path = jobs_env.root
    (root / "import" / "batch").mkdir()
    (root / "import" / "batch" / "old.csv").write_text(CSV, encoding="utf-8")
    (root / "import" / "batch" / "old.import-errors.csv").write_text("keep me\n", encoding="utf-8")
    r = _import(jobs_env, "batch/old.csv")
    assert r.status_code == 202, r.text
    done = _wait(jobs_env, r.json()["id"])
    assert done["status"] == "done" and done["summary"]["rows_failed"] == 1, done
    report = root / "jobs" / f"{done['id']}.import-errors.csv"
    assert "r-2" in report.read_text(encoding="utf-8-sig")
    assert (root / "import" / "batch" / "old.import-errors.csv").read_text(encoding="utf-8") == "keep me\n"


@pytest.mark.parametrize(
    "name",
    ["/etc/passwd", "../elsewhere/secret.csv", "batch/../../elsewhere/secret.csv", "C:\\secret.csv",
     "..\\elsewhere\\secret.csv", "a\x00.csv", "a\n.csv"],
)  # fmt: skip
def test_paths_that_could_leave_the_import_directory_are_refused(jobs_env, name: str) -> None:
    r = _import(jobs_env, name)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == "input"
    assert (jobs_env.root / "elsewhere" / "secret.import-errors.csv").read_text(
        encoding="utf-8"
    ) == "keep me\n"


def test_the_answer_does_not_tell_whether_a_file_exists(jobs_env) -> None:
    root: Path = jobs_env.root
    imports = root / "import"
    (imports / "to-secret.csv").symlink_to(root / "elsewhere" / "secret.csv")
    (imports / "to-nothing.csv").symlink_to(root / "elsewhere" / "missing.csv")
    (imports / "to-dir").symlink_to(root / "elsewhere")
    answers = {
        name: _import(jobs_env, name)
        for name in ("to-secret.csv", "to-nothing.csv", "to-dir/secret.csv", "missing.csv", "to-dir")
    }
    bodies = {(r.status_code, r.text) for r in answers.values()}
    assert len(bodies) == 1, bodies
    status, text = bodies.pop()
    assert status == 422 and '"field":"input"' in text
    # and outside the directory: the existing and the missing file are refused alike
    lexical = {_import(jobs_env, f"../elsewhere/{n}").text for n in ("secret.csv", "missing.csv")}
    assert len(lexical) == 1


def test_a_name_over_255_characters_is_a_422_naming_the_field(jobs_env) -> None:
    r = _import(jobs_env, "x" * 300 + ".csv")
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == "input"
    component = _import(jobs_env, "d/" + "y" * 250)  # within 255, but no such file
    assert component.status_code == 422 and component.json()["error"]["field"] == "input"


@pytest.mark.parametrize(
    ("extra", "field"),
    [({"inptu": "old.csv"}, "inptu"), ({"errors": "/tmp/x.csv"}, "errors"), ({"resume": "yes"}, "resume")],
)
def test_unknown_or_mistyped_fields_are_refused(jobs_env, extra: dict, field: str) -> None:
    (jobs_env.root / "import" / "fine.csv").write_text(CSV, encoding="utf-8")
    r = _import(jobs_env, "fine.csv", **extra)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == field


def test_confined_file_resolves_inside_the_directory(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.csv").write_text("x", encoding="utf-8")
    (tmp_path / "link.csv").symlink_to(tmp_path / "sub" / "a.csv")  # a symlink that stays inside is fine
    assert confined_file(tmp_path, "sub/a.csv") == (tmp_path / "sub" / "a.csv").resolve()
    assert confined_file(tmp_path, "link.csv") == (tmp_path / "sub" / "a.csv").resolve()
    with pytest.raises(InputError) as err:
        confined_file(tmp_path / "no-such-dir", "a.csv")
    assert err.value.field == "input" and err.value.code == "bad_input_file"


def test_cli_import_never_replaces_an_earlier_report_by_default(
    store_db, tmp_path: Path, monkeypatch
) -> None:
    """``triage batch import`` keeps taking paths; its default report is a new file per job."""
    data = tmp_path / "old.csv"
    data.write_text(CSV, encoding="utf-8")
    earlier = tmp_path / "old.import-errors.csv"  # what the old default would have overwritten
    earlier.write_text("keep me\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    opts = dict(input=data, text_cols=["content"], id_col="ref", database=store_db)
    first = run_import(ImportOptions(**opts))
    second = run_import(ImportOptions(**opts))
    reports = {Path(first.outputs["errors"]), Path(second.outputs["errors"])}
    assert len(reports) == 2 and all(p.name.endswith(".import-errors.csv") for p in reports)
    assert all("r-2" in (tmp_path / p).read_text(encoding="utf-8-sig") for p in reports)
    assert earlier.read_text(encoding="utf-8") == "keep me\n"
