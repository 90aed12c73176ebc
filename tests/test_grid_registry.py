"""Issue #13 item 8: the grid registry with names, imported from the city's own file (CSV in
UTF-8 or GBK, XLSX) from the CLI and the admin page; bad rows reported by number and field."""

from __future__ import annotations

import io

import pytest
import typer
from openpyxl import Workbook
from support.api_env import ApiEnv
from test_web_support import WebUser, field_block
from typer.testing import CliRunner

from triage.errors import InputError
from triage.store.grid_registry import import_grids, list_grids

REGISTRY = (
    "网格编号,网格名称,社区,街道\nQ101,幸福里一网格,幸福社区,城东街道\nQ102,幸福里二网格,幸福社区,城东街道\n"
)


def _names(db) -> dict[str, tuple[str, str, str]]:
    return {g.code: (g.name, g.community, g.street) for g in list_grids(db)}


def test_import_creates_then_updates_keeping_what_empty_cells_leave(store_db, tmp_path) -> None:
    path = tmp_path / "grids.csv"
    path.write_bytes(REGISTRY.encode("gbk"))
    first = import_grids(store_db, path)
    assert (first.created, first.updated, first.errors) == (2, 0, [])
    assert _names(store_db)["Q101"] == ("幸福里一网格", "幸福社区", "城东街道")
    path.write_text(
        "网格编号,网格名称,社区\nQ101,幸福里第一网格,\nQ102,幸福里二网格,幸福社区\n", encoding="utf-8"
    )
    again = import_grids(store_db, path)
    assert (again.created, again.updated, again.unchanged) == (0, 1, 1)
    assert _names(store_db)["Q101"] == ("幸福里第一网格", "幸福社区", "城东街道")  # empty cell kept


def test_bad_rows_are_reported_and_the_rest_load(store_db, tmp_path) -> None:
    path = tmp_path / "grids.csv"
    long_name = "长" * 200
    path.write_text(f"code,name\nR1,一网格\n,无编号\nR1,重复\nR2,{long_name}\nR3,\n", encoding="utf-8")
    report = import_grids(store_db, path)
    assert report.created == 2  # R1 and R3 (named by its code)
    assert [(e.row, e.field, e.code) for e in report.errors] == [
        (2, "code", "code_required"), (3, "code", "duplicate_code"), (4, "name", "too_long"),
    ]  # fmt: skip
    assert _names(store_db)["R3"][0] == "R3"


def test_xlsx_and_missing_column(store_db, tmp_path) -> None:
    wb = Workbook()
    wb.active.append(["网格编码", "网格名称", "所属社区", "所属街道"])
    wb.active.append(["X1", "江边网格", "江边社区", "滨江街道"])
    wb.save(tmp_path / "grids.xlsx")
    assert import_grids(store_db, tmp_path / "grids.xlsx").created == 1
    assert _names(store_db)["X1"] == ("江边网格", "江边社区", "滨江街道")
    (tmp_path / "wrong.csv").write_text("名称,社区\n一网格,幸福社区\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        import_grids(store_db, tmp_path / "wrong.csv")
    assert info.value.code == "missing_column" and "网格编号" in str(info.value)


def test_cli_imports_and_lists(store_db, tmp_path, monkeypatch) -> None:
    from triage.config import get_settings
    from triage.store.cli import register

    monkeypatch.setenv("TRIAGE_DATABASE_URL", store_db.url)
    get_settings.cache_clear()
    app = typer.Typer()
    register(app)
    (tmp_path / "g.csv").write_text(REGISTRY + ",缺编号,,\n", encoding="utf-8")
    try:
        res = CliRunner().invoke(app, ["grids", "import", str(tmp_path / "g.csv")])
        assert res.exit_code == 1 and "created 2" in res.stdout and "failed 1" in res.stdout
        assert "row 3: code:" in res.output
        listed = CliRunner().invoke(app, ["grids", "list"])
        assert listed.exit_code == 0 and "Q101\t幸福里一网格\t幸福社区\t城东街道" in listed.stdout
    finally:
        get_settings.cache_clear()


# -- the admin page --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def api(api_env: ApiEnv) -> ApiEnv:
    return api_env


def _upload(web: WebUser, name: str, data: bytes):
    return web.client.post(
        "/admin/grids/import",
        data={"csrf_token": web.csrf},
        files={"file": (name, io.BytesIO(data), "text/csv")},
    )


def test_admin_page_imports_and_names_show_everywhere(api: ApiEnv) -> None:
    admin = WebUser(api.app, "admin")
    r = _upload(
        admin,
        "网格台账.csv",
        ("网格编号,网格名称,社区,街道\nG001,人民公园网格,公园社区,中山街道\n,x,,\n").encode("gb18030"),
    )
    assert r.status_code == 200, r.text[:1000]
    assert 'id="import-created">0<' in r.text and 'id="import-updated">1<' in r.text
    assert 'id="import-failed">1<' in r.text and "网格编号为空" in r.text
    assert "人民公园网格" in admin.get("/admin/grids").text
    case = api.post(
        "grid1",
        "/api/v1/cases",
        json={"text": "人民公园北门的路灯坏了好几天了，晚上很黑，请尽快修理。", "grid": "G001"},
    )
    assert case.status_code == 201
    assert "人民公园网格" in admin.get(f"/cases/{case.json()['case_no']}").text


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("grids.pdf", b"%PDF-1.4", "CSV 或 XLSX"),
        ("grids.csv", b"", "文件是空的"),
        ("grids.csv", "名称\n一网格\n".encode(), "缺少“网格编号”列"),
    ],
)
def test_admin_page_refuses_bad_files_naming_the_field(
    api: ApiEnv, name: str, data: bytes, message: str
) -> None:
    admin = WebUser(api.app, "admin")
    r = _upload(admin, name, data)
    assert r.status_code == 422 and message in field_block(r.text, "file")


def test_admin_page_saves_one_grid_and_is_for_admins_only(api: ApiEnv) -> None:
    admin = WebUser(api.app, "admin")
    r = admin.post(
        "/admin/grids", {"code": "N9", "name": "新建网格", "community": "新社区", "street": "新街道"}
    )
    assert r.status_code == 303 and "新建网格" in admin.follow(r).text
    r = admin.post("/admin/grids", {"code": "", "name": "无编号"})
    assert r.status_code == 422 and "请填写网格编号" in field_block(r.text, "grid-code")
    for who in ("reviewer", "grid1"):
        web = WebUser(api.app, who)
        assert web.get("/admin/grids").status_code == 403
        assert _upload(web, "g.csv", REGISTRY.encode()).status_code == 403
