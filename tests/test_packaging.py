"""Packaging: the shipped models are found without the source tree, every models/ directory is installed,
and the engine and CLI work with the base dependencies only (a missing extra is named)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from triage import extras, profiles
from triage.config import PROJECT_ROOT

PYPROJECT = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
# Modules of the extras: importing triage (engine, store, CLI) must not need any of them.
EXTRA_MODULES = sorted(extras.EXTRAS_OF_MODULE)


def test_checkout_models_dir_is_used_in_a_checkout() -> None:
    assert profiles.shipped_models_dir() == PROJECT_ROOT / "models"


def test_installed_data_files_are_found_through_the_distribution(tmp_path: Path, monkeypatch) -> None:
    """Outside a checkout the wheel's data files are located from the installed file list (RECORD)."""
    site = tmp_path / "lib" / "site-packages"
    models = tmp_path / "share" / "petition-triage" / "models"
    (models / "tipdm").mkdir(parents=True)
    site.mkdir(parents=True)

    class FakeDist:
        files = ["triage/__init__.py", "../../share/petition-triage/models/tipdm/profile.toml"]

        def locate_file(self, path: str) -> Path:
            return site / path

    monkeypatch.setattr(profiles, "SOURCE_ROOT", tmp_path / "no-checkout")
    monkeypatch.setattr(profiles.metadata, "distribution", lambda name: FakeDist())
    profiles.shipped_models_dir.cache_clear()
    try:
        assert profiles.shipped_models_dir() == models.resolve()
        assert profiles.default_profiles_dir() == models.resolve()
    finally:
        profiles.shipped_models_dir.cache_clear()


def test_every_models_directory_is_installed() -> None:
    """A model directory missing from [tool.setuptools.data-files] is absent from a non-editable install."""
    data_files = PYPROJECT["tool"]["setuptools"]["data-files"]
    installed = {Path(target).name for target in data_files}
    shipped = {p.name for p in (PROJECT_ROOT / "models").iterdir() if p.is_dir()}
    assert shipped <= installed
    for target in data_files:
        assert target.startswith(profiles.SHARE_SUBDIR + "/")


def test_extras_table_matches_pyproject() -> None:
    declared = PYPROJECT["project"]["optional-dependencies"]
    for module, names in extras.EXTRAS_OF_MODULE.items():
        assert names and set(names) <= set(declared), module
    base = " ".join(PYPROJECT["project"]["dependencies"]).lower()
    for web in ("fastapi", "uvicorn", "jinja2", "openpyxl", "matplotlib", "pandas", "dask"):
        assert web not in base


def test_missing_extra_message() -> None:
    exc = ModuleNotFoundError("No module named 'uvicorn'", name="uvicorn")
    assert extras.missing_extra_message(exc) == (
        "this command needs the optional dependency 'uvicorn', which is not installed: "
        "pip install 'petition-triage[serve]'"
    )
    assert extras.missing_extra_message(ModuleNotFoundError("x", name="no_such_module")) is None


BLOCKER = """
import importlib.abc, sys
BLOCKED = set(sys.argv.pop(1).split(","))
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Block())
sys.argv[0] = "triage"
from triage.cli import main
main()
"""


def _cli_without_extras(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCKER, ",".join(EXTRA_MODULES), *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=PROJECT_ROOT,
    )


@pytest.mark.timeout(600)
def test_cli_runs_with_the_base_dependencies_only() -> None:
    res = _cli_without_extras("--help")
    assert res.returncode == 0, res.stderr
    for command in ("classify", "db", "batch", "serve", "profiles"):
        assert command in res.stdout
    res = _cli_without_extras("classify", "小区门口垃圾堆积很多天没人清理")
    assert res.returncode == 0, res.stderr
    assert '"category"' in res.stdout
    res = _cli_without_extras("serve", "--port", "1")
    assert res.returncode == 1
    assert "pip install 'petition-triage[serve]'" in res.stderr and "Traceback" not in res.stderr
