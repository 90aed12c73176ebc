"""Case fields (district, street, community, address) reach the Haikou profile's department model on
every triage path: the engine, the case store's submit, the live suggestion API and batch classify.

The Haikou department model learns unit *families* from the text (``{区}城管局``) and picks the
member from jurisdiction; a message that names no place is located by the case's fields when it
has them, else left to the text (and to the history's spread over the districts).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from triage.config import Settings

# Written for these tests: street vendors blocking a pavement, no place named in the text.
VENDORS = "路边店铺占道经营摆摊，人行道都走不了，请城管来管理"
VENDORS_IN_MEILAN = "美兰区这边路边店铺占道经营摆摊，人行道都走不了，请城管来管理"
MEILAN, LONGHUA = "美兰区城管局", "龙华区城管局"
# streets/towns the shipped profile learned from its history: 演丰镇 lies in 美兰区, 金贸街道 in 龙华区
MEILAN_TOWN, LONGHUA_STREET = "演丰镇", "金贸街道"


@pytest.fixture(scope="module")
def haikou():
    from triage.pipeline import Triager

    return Triager.load(settings=Settings(profile="haikou"))


def test_engine_reads_case_fields(haikou) -> None:
    town = haikou.triage(VENDORS, fields={"street": MEILAN_TOWN})
    assert town.department == MEILAN and "镇街" in town.department_reason
    assert haikou.triage(VENDORS, fields={"street": LONGHUA_STREET}).department == LONGHUA
    assert haikou.triage(VENDORS, fields={"district": "美兰区"}).department == MEILAN
    # the trained column names (辖区 …) still work, and win over the store's names
    both = haikou.triage(VENDORS, fields={"辖区": "龙华区", "street": MEILAN_TOWN})
    assert both.department == LONGHUA


def test_without_fields_the_text_decides(haikou) -> None:
    bare = haikou.triage(VENDORS)
    assert "未能确定辖区" in bare.department_reason  # nothing locates it: the reviewer is told
    named = haikou.triage(VENDORS_IN_MEILAN)
    assert named.department == MEILAN and "诉求中提到" in named.department_reason
    # a field that names no known place leaves the text to decide
    assert haikou.triage(VENDORS_IN_MEILAN, fields={"street": "无名街"}).department == MEILAN


def test_triage_many_takes_fields_per_text(haikou) -> None:
    got = haikou.triage_many(
        [VENDORS, VENDORS, VENDORS_IN_MEILAN],
        fields=[{"street": MEILAN_TOWN}, {"community": "金贸社区", "address": "龙华区滨海大道"}, None],
    )
    assert [r.department for r in got] == [MEILAN, LONGHUA, MEILAN]


# -- the case store, on both databases ----------------------------------------------------------------
@pytest.fixture
def haikou_service(store_db, haikou, store_clock):
    from support.api_env import fresh_triager

    from triage.store.service import CaseService

    return CaseService(store_db, fresh_triager(haikou), clock=store_clock)


def test_submit_routes_by_the_case_fields(haikou_service) -> None:
    from triage.store.models import Grid

    with haikou_service.db.session() as session:
        session.add(Grid(code="G-YF-1", name="演丰一网格", community="演丰社区", street=MEILAN_TOWN))
        session.commit()
    by_street = haikou_service.submit(VENDORS, street=LONGHUA_STREET)
    assert by_street.suggested_department == LONGHUA
    by_grid = haikou_service.submit(VENDORS, grid_code="G-YF-1")  # street and community from the grid
    assert by_grid.suggested_department == MEILAN and by_grid.street == MEILAN_TOWN
    by_text = haikou_service.submit(VENDORS_IN_MEILAN)
    assert by_text.suggested_department == MEILAN
    many = haikou_service.submit_many(
        [{"text": VENDORS, "street": MEILAN_TOWN}, {"text": VENDORS, "address": "龙华区金贸东路1号"}]
    )
    assert [c.suggested_department for c in many] == [MEILAN, LONGHUA]


def test_suggest_passes_fields(haikou_service) -> None:
    got = haikou_service.suggest([VENDORS, VENDORS], fields=[{"street": MEILAN_TOWN}, {"district": "龙华区"}])
    assert [r.department for r in got] == [MEILAN, LONGHUA]


# -- POST /api/v1/triage -------------------------------------------------------------------------------
@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def haikou_api(request, tmp_path_factory, haikou):
    from fastapi.testclient import TestClient
    from support.api_env import ApiEnv, fresh_triager, postgres_available, seed_users, temporary_database

    from api.main import create_app

    if request.param == "postgresql" and not postgres_available():
        from conftest import pg_unavailable

        pg_unavailable("127.0.0.1:5432")
    with temporary_database(request.param, tmp_path_factory.mktemp("api")) as url:
        app = create_app(Settings(database_url=url, profile="haikou"), triager=fresh_triager(haikou))
        with TestClient(app) as client:  # the test users' departments are TipDM's: only an operator
            yield ApiEnv(client, app, seed_users(app.state.db, {"operator": ("operator", None, ())}))


def _triage(env, **body):  # type: ignore[no-untyped-def]
    return env.post("operator", "/api/v1/triage", json=body)


def test_api_triage_with_fields(haikou_api) -> None:
    for text, body, unit in (
        (VENDORS, {"street": MEILAN_TOWN}, MEILAN),
        (VENDORS, {"district": "龙华区"}, LONGHUA),
        (VENDORS, {"address": "美兰区海甸岛人民大道"}, MEILAN),
        (VENDORS_IN_MEILAN, {}, MEILAN),  # no fields: the text decides
        (VENDORS_IN_MEILAN, {"street": LONGHUA_STREET}, LONGHUA),  # the case's field wins
    ):
        got = _triage(haikou_api, text=text, **body)
        assert got.status_code == 200, got.text
        assert got.json()["department"] == unit, body


def test_api_triage_field_errors(haikou_api) -> None:
    long = _triage(haikou_api, text=VENDORS, street="街" * 129)
    assert long.status_code == 422 and long.json()["error"]["field"] == "street"
    unknown = _triage(haikou_api, text=VENDORS, province="海南省")
    assert unknown.status_code == 422 and unknown.json()["error"]["field"] == "province"


# -- batch classify -------------------------------------------------------------------------------------
def test_batch_classify_maps_columns_to_fields(tmp_path: Path) -> None:
    from triage.batch import run_classify
    from triage.batch.classify import ClassifyOptions
    from triage.errors import InputError

    prof = Settings(profile="haikou")
    source, out = tmp_path / "in.csv", tmp_path / "out.csv"
    source.write_text(
        f"诉求,街道\n{VENDORS},{MEILAN_TOWN}\n{VENDORS},{LONGHUA_STREET}\n{VENDORS_IN_MEILAN},\n",
        encoding="utf-8",
    )
    opts = ClassifyOptions(
        input=source, output=out, text_cols=["诉求"], field_cols={"街道": "street"},
        model_path=prof.model_path, routing_path=prof.routing_path, dedup=False,
    )  # fmt: skip
    run_classify(opts)
    with out.open(encoding="utf-8-sig") as fh:
        assert [r["department"] for r in csv.DictReader(fh)] == [MEILAN, LONGHUA, MEILAN]
    opts.field_cols = {"辖区": "district"}
    with pytest.raises(InputError) as err:
        run_classify(opts)
    assert err.value.field == "辖区"
