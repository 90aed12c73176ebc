"""The shape of the engine and the case store, checked on the source (docs/architecture.md):
imports point one way, from the entry points down to the tables."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.imports import imports_of

TRIAGE = Path(__file__).resolve().parents[1] / "triage"
ENGINE = [
    "text",
    "classify",
    "route",
    "dedup",
    "tabular",
    "pipeline.py",
    "result.py",
    "errors.py",
    "config.py",
]
CASE_SERVICES = ["submit.py", "review.py", "handling.py", "rereview.py"]


def _files(*names: str) -> list[Path]:
    out: list[Path] = []
    for name in names:
        path = TRIAGE / name
        out.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    return out


def _within(path: Path, prefixes: tuple[str, ...]) -> set[str]:
    return {m for m in imports_of(path) if m.split(".")[0] in {"api", "training"} or m.startswith(prefixes)}


@pytest.mark.parametrize("path", _files("."), ids=lambda p: str(p.relative_to(TRIAGE)))
def test_triage_never_imports_api_or_training(path: Path) -> None:
    assert not {m for m in imports_of(path) if m.split(".")[0] in {"api", "training"}}


@pytest.mark.parametrize("path", _files(*ENGINE), ids=lambda p: str(p.relative_to(TRIAGE)))
def test_engine_stages_know_nothing_of_the_store_or_batch(path: Path) -> None:
    assert not _within(path, ("triage.store", "triage.batch"))


@pytest.mark.parametrize("path", _files("store/models"), ids=lambda p: str(p.relative_to(TRIAGE)))
def test_tables_import_no_store_code_above_them(path: Path) -> None:
    above = {
        m
        for m in imports_of(path)
        if m.startswith("triage.store") and not m.startswith("triage.store.models")
    }
    assert not above


def test_transaction_knows_no_service() -> None:
    services = tuple(f"triage.store.{n.removesuffix('.py')}" for n in [*CASE_SERVICES, "service.py"])
    assert not _within(TRIAGE / "store" / "transaction.py", services)


@pytest.mark.parametrize("name", CASE_SERVICES)
def test_case_services_never_reach_back_into_the_facade(name: str) -> None:
    assert "triage.store.service" not in imports_of(TRIAGE / "store" / name)


@pytest.mark.parametrize("path", _files("store"), ids=lambda p: str(p.relative_to(TRIAGE)))
def test_store_does_not_import_batch_jobs(path: Path) -> None:
    assert not {m for m in imports_of(path) if m.startswith("triage.batch")}


def test_documented_entry_point() -> None:
    from triage import Triager
    from triage.pipeline import Triager as PipelineTriager

    assert Triager is PipelineTriager
