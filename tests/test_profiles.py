"""City profiles: level derivation, routing files keyed by names, profile resolution, and the API
started with each profile (department names, levels and deadlines come from the profile)."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from city_profile import MESSAGES, ROUTING, build_city_profile

from triage.config import PROJECT_ROOT, Settings
from triage.errors import ConfigError
from triage.profiles import list_profiles, resolve
from triage.route.config import department_code, derive_level, load_config
from triage.route.router import Router


@pytest.mark.parametrize(
    ("name", "level"),
    [
        ("市公安局交通警察支队", "市"),
        ("市住房和城乡建设局", "市"),
        ("海口市公共交通集团有限公司", "市"),
        ("龙华区城管局", "区"),
        ("海口市美兰区物价监督检查局", "区"),
        ("琼山区城市管理行政执法局", "区"),
        ("龙华区金贸街道办", "街道"),
        ("龙华区城西镇政府", "街道"),
        ("美兰区三江镇人民政府", "街道"),
        ("幸福社区居委会", "社区"),
        ("新华村", "社区"),
        ("第三网格", "网格"),
        ("中国移动海南分公司", None),
        ("其他单位", None),
    ],
)
def test_level_derived_from_the_name(name: str, level: str | None) -> None:
    assert derive_level(name) == level


def test_department_codes_are_stable_and_valid() -> None:
    code = department_code("龙华区城管局")
    assert code == department_code("龙华区城管局 ") == department_code("龙华区城管局")  # NFKC + strip
    assert code != department_code("美兰区城管局")
    assert code.startswith("d_") and len(code) == 12 and code.isascii()


def test_routing_file_without_codes_or_levels(tmp_path: Path) -> None:
    path = tmp_path / "routing.toml"
    path.write_text(ROUTING, encoding="utf-8")
    router = Router.load(path)
    by_name = {d.name: d for d in router.departments()}
    assert by_name["市公安局交通警察支队"].level == "市"
    assert by_name["龙华区城管局"].level == "区"
    assert by_name["美兰区城管局"].level == "市"  # written in the file: overrides the derived 区
    assert by_name["龙华区金贸街道办"].level == "街道"
    assert by_name["幸福社区居委会"].code == "xingfu"  # a written code stays
    assert by_name["龙华区城管局"].code == department_code("龙华区城管局")
    # references by name resolve to the derived codes
    assert router.deadline_for("交通运输") == 50
    assert load_config(path).spec.router.default_department == department_code("龙华区城管局")
    assert router.level_deadline("区") == 96


def test_unknown_name_reference_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "routing.toml"
    path.write_text(
        ROUTING.replace(
            'department = "龙华区城管局"\ndeadline_hours = 100',
            'department = "无此单位"\ndeadline_hours = 100',
        )
    )
    with pytest.raises(ConfigError, match="categories.城乡建设: unknown department '无此单位'"):
        load_config(path)


def test_underivable_level_falls_back_to_router_default(tmp_path: Path) -> None:
    text = ROUTING.replace('version = "test-city"', 'version = "t"\ndefault_level = "区"')
    text += '\n[[departments]]\nname = "中国移动海南分公司"\n'
    path = tmp_path / "routing.toml"
    path.write_text(text, encoding="utf-8")
    dept = Router.load(path).department(department_code("中国移动海南分公司"))
    assert dept is not None and dept.level == "区"


# -- profile resolution ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def profiles(tmp_path_factory) -> Path:
    from triage.classify.dispatch import ThresholdChoice

    root = tmp_path_factory.mktemp("profiles")
    build_city_profile(root, "city", auto_dispatch=ThresholdChoice(0.3, 0.7, 0.96, 120))
    return root


def test_shipped_tipdm_profile_keeps_models_category() -> None:
    prof = resolve("tipdm")
    assert prof.model_path == (PROJECT_ROOT / "models" / "category").resolve()
    assert prof.routing_path is None  # the routing.toml shipped in triage/resources
    assert "tipdm" in list_profiles()
    settings = Settings()
    assert settings.profile == "tipdm" and settings.model_path == prof.model_path


def test_settings_follow_the_profile(profiles: Path, tmp_path: Path) -> None:
    s = Settings(profile="city", profiles_dir=profiles)
    assert s.model_path == (profiles / "city").resolve()
    assert s.routing_path == (profiles / "city" / "routing.toml").resolve()
    assert "model_path" not in s.model_fields_set  # derived, not explicit
    explicit = Settings(profile="city", profiles_dir=profiles, model_path=tmp_path)
    assert explicit.model_path == tmp_path  # an explicit path wins over the profile
    with pytest.raises(ValueError, match="unknown profile 'nowhere'.*known profiles: city"):
        Settings(profile="nowhere", profiles_dir=profiles)


def test_profile_from_environment(profiles: Path, monkeypatch) -> None:
    monkeypatch.setenv("TRIAGE_PROFILE", "city")
    monkeypatch.setenv("TRIAGE_PROFILES_DIR", str(profiles))
    assert Settings().model_path == (profiles / "city").resolve()


def test_manifest_problems_are_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "profile.toml").write_text('[profile]\nmodle = "."\n')
    with pytest.raises(ConfigError, match="profile.modle: unknown field"):
        resolve("bad", tmp_path)
    (bad / "profile.toml").write_text('[profile]\nrouting = "missing.toml"\n')
    with pytest.raises(ConfigError, match="profile.routing: no routing file"):
        resolve("bad", tmp_path)
    with pytest.raises(ConfigError, match="unknown profile '../bad'"):
        resolve("../bad", tmp_path)


def test_directory_with_a_bundle_is_a_profile(profiles: Path, tmp_path: Path) -> None:
    import shutil

    shutil.copy(profiles / "city" / "model.joblib", tmp_path / "model.joblib")
    (tmp_path / "plain").mkdir()
    shutil.move(tmp_path / "model.joblib", tmp_path / "plain" / "model.joblib")
    prof = resolve("plain", tmp_path)
    assert prof.model_path == (tmp_path / "plain").resolve() and prof.routing_path is None


# -- the API started with each profile ------------------------------------------------------------------
@contextmanager
def _started(url: str, user: str, **settings):  # type: ignore[no-untyped-def]
    """The app started on ``url`` with these settings, and an operator's auth header."""
    from fastapi.testclient import TestClient
    from support.api_env import seed_users

    from api.main import create_app

    app = create_app(Settings(database_url=url, **settings))
    with TestClient(app) as client:
        token = seed_users(app.state.db, {user: ("operator", None, ())})[user]
        yield app, client, {"Authorization": f"Bearer {token}"}


def _departments(app) -> dict[str, tuple]:  # type: ignore[no-untyped-def]
    from triage.store.models import Department

    with app.state.db.session() as session:
        rows = session.execute(sa.select(Department)).scalars().all()
        return {d.code: (d.name, d.level, d.deadline_hours, d.active, d.profile) for d in rows}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_api_switches_profile_by_setting(backend: str, profiles: Path, tmp_path: Path) -> None:
    from support.api_env import postgres_available, temporary_database

    if backend == "postgresql" and not postgres_available():
        from conftest import pg_unavailable

        pg_unavailable("127.0.0.1:5432")
    with temporary_database(backend, tmp_path) as url:
        # 1. the TipDM profile (default): departments of the shipped routing file
        with _started(url, "op1") as (app, _, _):
            tipdm = _departments(app)
            assert tipdm["city_gov"][:4] == ("市人民政府", "市", 240, True)
            assert tipdm["city_gov"][4] == "tipdm"
        # 2. the same database, the city profile: names, levels, deadlines from its routing file
        with _started(url, "op2", profile="city", profiles_dir=profiles) as (app, client, auth):
            rows = _departments(app)
            city = {code: row for code, row in rows.items() if row[3]}
            assert {row[0] for row in city.values()} == {
                "市公安局交通警察支队",
                "龙华区城管局",
                "美兰区城管局",
                "龙华区金贸街道办",
                "幸福社区居委会",
            }
            assert city[department_code("龙华区城管局")][1:3] == ("区", 96)
            assert city[department_code("美兰区城管局")][1:3] == ("市", 168)
            assert city[department_code("龙华区金贸街道办")][1:3] == ("街道", 72)
            assert all(row[4] == "city" for row in city.values())
            assert not rows["city_gov"][3]  # the TipDM departments stay for old cases, inactive
            text = MESSAGES["市公安局交通警察支队"][0]
            got = client.post("/api/v1/triage", json={"text": text}, headers=auth)
            assert got.status_code == 200, got.text
            body = got.json()
            assert body["department"] == "市公安局交通警察支队" and body["level"] == "市"
            assert body["deadline_hours"] == 50 and body["category"] == "交通运输"
            case = client.post("/api/v1/cases", json={"text": text}, headers=auth)
            assert case.status_code == 201, case.text
            assert case.json()["suggestion"]["department"] == "市公安局交通警察支队"
            assert 0 < case.json()["suggestion"]["department_confidence"] <= 1


def test_reviewer_sees_threshold_and_standing(profiles: Path, tmp_path: Path, monkeypatch) -> None:
    """Case and review pages show the profile's threshold, the case's department confidence and
    whether it was dispatched without review."""
    from test_web_support import SECRET, WebUser, text_of

    monkeypatch.setenv("TRIAGE_SESSION_SECRET", SECRET)
    url = f"sqlite:///{tmp_path / 'web.db'}"
    with _started(url, "op3", profile="city", profiles_dir=profiles, auto_dispatch=True) as (
        app,
        client,
        auth,
    ):
        from support.api_env import seed_users

        seed_users(app.state.db, {"rev3": ("reviewer", None, ())})
        text = MESSAGES["龙华区城管局"][0]
        first = client.post("/api/v1/cases", json={"text": text}, headers=auth).json()
        again = client.post("/api/v1/cases", json={"text": text}, headers=auth).json()
        assert first["status"] == "dispatched" and again["status"] == "pending_review"
        reviewer = WebUser(app, "rev3")
        page = text_of(reviewer.get(f"/cases/{first['case_no']}").text)
        assert "自动派单" in page and "部门置信度 ≥ 30.0%" in page and "已自动派单" in page
        assert "覆盖 70% 的案件" in page
        review = text_of(reviewer.get(f"/review/{again['case_no']}").text)
        assert "高于阈值但需人工审核：有疑似重复件" in review and "部门置信度 ≥ 30.0%" in review


def test_routing_written_from_history(tmp_path: Path) -> None:
    """`triage profiles routing` on a GB18030 export with catch-alls and empty units."""
    import typer
    from typer.testing import CliRunner

    from triage.profile_cli import register as add_commands

    rows = [
        ("城乡建设", "龙华区城管局"),
        ("城乡建设", "龙华区城管局"),
        ("城乡建设", "美兰区城管局"),
        ("交通运输", "市公安局交通警察支队"),
        ("交通运输", "其他单位"),
        ("交通运输", ""),
        ("环境保护", "海口供电局"),
        ("", "龙华区金贸街道办"),
    ]
    data = tmp_path / "orders.csv"
    data.write_bytes(("分类,处置单位\n" + "".join(f"{c},{u}\n" for c, u in rows)).encode("gb18030"))
    out = tmp_path / "city" / "routing.toml"
    app = typer.Typer()
    add_commands(app)
    args = ["profiles", "routing", "--data", str(data), "--department-col", "处置单位", "--label-col", "分类"]
    args += ["--not-a-department", "其他单位", "--out", str(out)]
    got = CliRunner().invoke(app, args)
    assert got.exit_code == 0, got.output
    assert "5 departments, 3 categories" in got.output
    router = Router.load(out)
    levels = {d.name: d.level for d in router.departments()}
    assert levels == {
        "龙华区城管局": "区",
        "美兰区城管局": "区",
        "市公安局交通警察支队": "市",
        "海口供电局": "市",  # nothing in the name: the default level
        "龙华区金贸街道办": "街道",  # a unit of the history even where the category is empty
    }
    assert "其他单位" not in levels  # not a department
    code = department_code("龙华区城管局")
    assert router.deadline_for("城乡建设") == 120 and router.department(code).name == "龙华区城管局"
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 2 and "--force" in again.output


def test_shipped_haikou_profile_routing() -> None:
    """The Haikou profile's routing file loads with every unit's level derived from its name."""
    prof = resolve("haikou")
    assert prof.routing_path == (PROJECT_ROOT / "models" / "haikou" / "routing.toml").resolve()
    router = Router.load(prof.routing_path)
    levels = {d.name: d.level for d in router.departments()}
    assert levels["龙华区城管局"] == levels["美兰区城管局"] == "区"
    assert levels["市公安局交通警察支队"] == "市" and levels["龙华区金贸街道办"] == "街道"
    assert not {"其他单位", "省级单位", "除海口外的市县"} & set(levels)  # catch-alls are no departments
    assert router.department(department_code("龙华区城管局")).name == "龙华区城管局"


def test_batch_and_cli_follow_the_profile_setting(profiles: Path, tmp_path: Path) -> None:
    """`TRIAGE_PROFILE` alone switches `triage classify` and `triage batch classify`."""
    import csv
    import json
    import os
    import subprocess
    import sys

    env = dict(os.environ, TRIAGE_PROFILE="city", TRIAGE_PROFILES_DIR=str(profiles))
    env.pop("TRIAGE_MODEL_PATH", None)
    env.pop("TRIAGE_ROUTING_PATH", None)
    cli = [sys.executable, "-c", "from triage.cli import main; main()"]
    text = MESSAGES["美兰区城管局"][0]
    one = subprocess.run([*cli, "classify", text], env=env, capture_output=True, text=True, timeout=300)
    assert one.returncode == 0, one.stderr
    assert json.loads(one.stdout)["department"] == "美兰区城管局"
    source, out = tmp_path / "in.csv", tmp_path / "out.csv"
    source.write_text(f"text\n{text}\n{MESSAGES['市公安局交通警察支队'][2]}\n", encoding="utf-8")
    args = ["batch", "classify", "-i", str(source), "--output", str(out), "--text-col", "text"]
    batch = subprocess.run([*cli, *args], env=env, capture_output=True, text=True, timeout=300)
    assert batch.returncode == 0, batch.stderr
    with out.open(encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["department"], r["level"]) for r in rows] == [
        ("美兰区城管局", "市"),
        ("市公安局交通警察支队", "市"),
    ]
