"""Model registry on SQLite and PostgreSQL: register, promote, rollback, shadow suggestions, compare,
the ``triage models`` CLI, and the service serving the registry's live bundle."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from city_profile import MESSAGES, build_city_profile
from sqlmodel import select
from typer.testing import CliRunner

from triage.config import Settings
from triage.route.config import department_code
from triage.store import model_registry as reg
from triage.store.errors import ValidationError
from triage.store.models import ModelEvent, ShadowSuggestion
from triage.store.service import CaseService
from triage.store.shadow import ShadowRunner


@pytest.fixture(scope="module")
def bundles(tmp_path_factory) -> dict[str, Path]:
    """Two bundles of the same city profile (different training → different versions)."""
    root = tmp_path_factory.mktemp("city")
    v1 = build_city_profile(root, "city")
    v2 = build_city_profile(tmp_path_factory.mktemp("next"), "city", repeat=2)
    return {"root": root, "v1": v1, "v2": v2}


@pytest.fixture(scope="module")
def settings(bundles) -> Settings:
    return Settings(profile="city", profiles_dir=bundles["root"])


@pytest.fixture(scope="module")
def city_triager(settings):
    from triage.pipeline import Triager

    return Triager.load(settings=settings)


def _version(path: Path) -> str:
    return reg.bundle_record(path)["version"]


def test_register_promote_rollback(store_db, bundles, caplog) -> None:
    caplog.set_level(logging.INFO, logger="triage.store.model_registry")
    v1 = reg.register(store_db, bundles["v1"], profile="city", actor="alice")
    v2 = reg.register(store_db, bundles["v2"], profile="city", actor="alice")
    assert v1.version != v2.version and v1.status == v2.status == "candidate"
    assert v1.data_fingerprint.endswith("01") and v2.data_fingerprint.endswith("02")
    assert v1.metrics["eval"] == {"n": 3}
    with pytest.raises(reg.RegistryError, match="already registered"):
        reg.register(store_db, bundles["v1"], profile="city", actor="alice")
    with pytest.raises(ValidationError, match="no model 'cat-nope'.*registered: "):
        reg.promote(store_db, "city", "cat-nope", actor="bob")
    with pytest.raises(reg.RegistryError, match="no earlier live model"):
        reg.rollback(store_db, "city", actor="bob")

    reg.promote(store_db, "city", v1.version, actor="bob")
    live = reg.promote(store_db, "city", v2.version, actor="carol", note="more data")
    assert live.status == "live" and live.promoted_by == "carol" and live.promoted_at is not None
    status = {m.version: m.status for m in reg.list_models(store_db, "city")}
    assert status == {v1.version: "retired", v2.version: "live"}
    assert reg.live_model_path(store_db, "city") == Path(bundles["v2"]).resolve()
    with pytest.raises(reg.RegistryError, match="already live"):
        reg.promote(store_db, "city", v2.version, actor="carol")

    back = reg.rollback(store_db, "city", actor="dave")
    assert back.version == v1.version and back.status == "live" and back.promoted_by == "dave"
    assert {m.version: m.status for m in reg.list_models(store_db, "city")}[v2.version] == "retired"
    with pytest.raises(reg.RegistryError, match="no earlier live model"):  # the stack is back to one
        reg.rollback(store_db, "city", actor="dave")
    actions = [(e.action, v, e.actor) for e, v in reg.history(store_db, "city")]
    assert actions == [
        ("register", v1.version, "alice"),
        ("register", v2.version, "alice"),
        ("promote", v1.version, "bob"),
        ("promote", v2.version, "carol"),
        ("rollback", v1.version, "dave"),
    ]
    logged = [r.getMessage() for r in caplog.records if r.name == "triage.store.model_registry"]
    assert logged[2:] == [  # promotions and rollbacks are logged, with who did them
        f"model {v1.version} promoted to live for profile city by bob",
        f"model {v2.version} promoted to live for profile city by carol (retired {v1.version})",
        f"profile city rolled back by dave: {v1.version} is live again, {v2.version} retired",
    ]
    assert reg.live_model(store_db, "other") is None and reg.list_models(store_db, "other") == []


def test_shadow_suggestions_and_compare(store_db, bundles, settings, city_triager, store_clock) -> None:
    from support.api_env import fresh_triager

    live = reg.register(store_db, bundles["v1"], profile="city", actor="alice")
    reg.promote(store_db, "city", live.version, actor="alice")
    cand = reg.register(store_db, bundles["v2"], profile="city", actor="alice")
    with pytest.raises(reg.RegistryError, match="is live"):
        reg.start_shadow(store_db, "city", live.version, actor="alice")
    with pytest.raises(reg.RegistryError, match="no model in shadow"):
        reg.compare(store_db, "city")
    reg.start_shadow(store_db, "city", cand.version, actor="alice")
    shadow = ShadowRunner.load(store_db, "city", settings)
    assert shadow is not None and shadow.model.version == cand.version
    service = CaseService(
        store_db, fresh_triager(city_triager), settings=settings, clock=store_clock, shadow=shadow
    )

    texts = [MESSAGES["市公安局交通警察支队"][1], MESSAGES["龙华区城管局"][2], MESSAGES["美兰区城管局"][3]]
    cases = [service.submit(t) for t in texts]
    with store_db.session() as session:
        rows = session.exec(select(ShadowSuggestion)).all()
    assert len(rows) == 3 and {r.model_id for r in rows} == {cand.id}
    assert all(r.department_confidence is not None for r in rows)
    assert reg.compare(store_db, "city")["n"] == 0  # nothing reviewed yet
    assert reg.compare(store_db, "city")["shadowed"] == 3

    # reviewers: accept the first two, send the third to another department
    for case in cases[:2]:
        service.claim(case.case_no, "rev")
        service.accept(case.case_no, "rev")
    other = department_code("龙华区金贸街道办")
    service.claim(cases[2].case_no, "rev")
    service.correct(cases[2].case_no, "rev", department_code=other)
    report = reg.compare(store_db, "city")
    by_case = {r.case_id: r for r in rows}
    stored = [service.get(c.case_no) for c in cases]
    expected_agree = sum(c.suggested_department_code == by_case[c.id].department_code for c in stored) / 3
    expected_cand = sum(c.department_code == by_case[c.id].department_code for c in stored) / 3
    assert (
        report["n"] == 3 and report["candidate"] == cand.version and report["live_versions"] == [live.version]
    )
    assert report["live"]["department_accuracy"] == round(2 / 3, 4)
    assert report["agreement"]["department"] == round(expected_agree, 4)
    assert report["candidate_scores"]["department_accuracy"] == round(expected_cand, 4)
    assert report["live"]["category_accuracy"] == 1.0
    assert reg.compare(store_db, "city", cand.version)["n"] == 3
    # a unit the candidate's bundle calls "not a department" leaves the department figures
    with store_db.session(write=True) as session:
        row = session.get(type(cand), cand.id)
        row.metrics = dict(row.metrics or {}, not_a_department=["龙华区金贸街道办"])
        session.add(row)
    narrowed = reg.compare(store_db, "city")
    assert narrowed["department_n"] == 2 and narrowed["department_skipped"] == 1
    assert narrowed["live"]["department_accuracy"] == 1.0 and narrowed["n"] == 3


def test_shadow_failure_never_breaks_submit(store_db, bundles, settings, city_triager, store_clock) -> None:
    from support.api_env import fresh_triager

    cand = reg.register(store_db, bundles["v2"], profile="city", actor="alice")

    class Broken:
        max_text_chars = 20_000

        def triage_many(self, texts, skip_invalid=False):  # type: ignore[no-untyped-def]
            raise RuntimeError("candidate crashed")

    service = CaseService(
        store_db,
        fresh_triager(city_triager),
        settings=settings,
        clock=store_clock,
        shadow=ShadowRunner(store_db, cand, Broken()),
    )
    case = service.submit(MESSAGES["龙华区城管局"][0])
    assert service.get(case.case_no).suggested_department == "龙华区城管局"
    with store_db.session() as session:
        assert session.exec(select(ShadowSuggestion)).all() == []


def test_models_cli(store_db, bundles) -> None:
    import typer

    from triage.store.registry_cli import register as add_commands

    app = typer.Typer()
    add_commands(app)
    runner = CliRunner()
    base = ["--profile", "city", "--database-url", store_db.url]

    def run(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(app, ["models", *args, *base])

    assert "no models registered" in run("list").output
    got = run("register", str(bundles["v1"]), "--actor", "alice")
    assert got.exit_code == 0, got.output
    v1 = _version(bundles["v1"])
    assert run("register", str(bundles["v2"]), "--actor", "alice", "--shadow").exit_code == 0
    promoted = run("promote", v1, "--actor", "bob", "--note", "first city model")
    assert promoted.exit_code == 0 and "promoted by bob" in promoted.output
    listing = run("list")
    assert "live" in listing.output and "shadow" in listing.output and v1 in listing.output
    assert '"status": "live"' in run("list", "--json").output
    bad = run("promote", "cat-missing")
    assert bad.exit_code == 2 and "no model 'cat-missing'" in bad.output
    compared = run("compare", "--json")
    assert compared.exit_code == 0 and '"n": 0' in compared.output
    assert "agreement" in run("compare").output
    assert "nothing_to_roll_back" in run("rollback").output
    with store_db.session() as session:
        notes = [e.note for e in session.exec(select(ModelEvent).where(ModelEvent.action == "promote"))]
    assert notes == ["first city model"]


def test_service_serves_the_registry_live_model(store_db, bundles, settings, tmp_path) -> None:
    """The app loads the profile's live bundle from the registry, not the profile's own copy."""
    from fastapi.testclient import TestClient

    from api.main import create_app

    url = store_db.engine.url.render_as_string(hide_password=False)
    v2 = reg.register(store_db, bundles["v2"], profile="city", actor="alice")
    reg.promote(store_db, "city", v2.version, actor="alice")
    app = create_app(
        Settings(database_url=url, profile="city", profiles_dir=bundles["root"]), database=store_db
    )
    with TestClient(app):
        assert app.state.triager.model_version == v2.version != _version(bundles["v1"])
    # an explicit model path wins over the registry
    explicit = Settings(
        database_url=url, profile="city", profiles_dir=bundles["root"], model_path=bundles["v1"]
    )
    app = create_app(explicit, database=store_db)
    with TestClient(app):
        assert app.state.triager.model_version == _version(bundles["v1"])
