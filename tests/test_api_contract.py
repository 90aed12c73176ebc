"""Error contract, auth, suggestion endpoint, operations endpoints, Open311 and the CLI (SQLite)."""

from __future__ import annotations

import re

import pytest
from support.api_env import ELEVATOR, PARKING, SEWAGE, ApiEnv, running_app
from typer.testing import CliRunner

PUBLIC = {"/healthz", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


@pytest.fixture(scope="module")
def api(tmp_path_factory, store_triager):
    url = f"sqlite:///{tmp_path_factory.mktemp('api') / 'contract.db'}"
    with running_app(url, store_triager) as env:
        yield env


def _assert_error(r, status: int, code: str | None = None, field: str | None = None) -> dict:
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert set(err) >= {"code", "message"} and err["message"]
    if code:
        assert err["code"] == code
    if field:
        assert err["field"] == field
    return err


def test_healthz_needs_no_token(api: ApiEnv) -> None:
    r = api.get(None, "/healthz")
    assert r.status_code == 200 and r.json()["status"] == "ok" and r.json()["database"] == "sqlite"


def test_every_other_endpoint_needs_a_valid_token(api: ApiEnv) -> None:
    paths = {p: ops for p, ops in api.app.openapi()["paths"].items() if p not in PUBLIC}
    assert sum(len(ops) for ops in paths.values()) >= 18
    for template, ops in paths.items():
        path = re.sub(r"\{[^}]+\}", "x", template)
        for method in ops:
            for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic abc"}):
                r = api.client.request(method, path, headers=headers)
                _assert_error(r, 401, "unauthorized")
                assert r.headers["WWW-Authenticate"] == "Bearer"


def test_triage_suggests_and_stores_nothing(api: ApiEnv) -> None:
    before = api.count_cases()
    r = api.post("operator", "/api/v1/triage", json={"text": SEWAGE + "联系电话13800001111"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["category"] and body["department"] and body["level"] and body["deadline_hours"] > 0
    assert body["top_k"][0]["probability"] >= body["top_k"][-1]["probability"] and body["route_reason"]
    assert "13800001111" not in body["masked_text"]
    assert api.count_cases() == before


@pytest.mark.parametrize(
    ("payload", "status", "code", "field"),
    [
        ({"text": "   "}, 422, "empty_text", "text"),
        ({"text": 12}, 422, "validation_error", "text"),
        ({}, 422, "validation_error", "text"),
        ({"text": PARKING, "extra": 1}, 422, "validation_error", "extra"),
        ({"text": "字" * 20_001}, 422, "text_too_long", "text"),
    ],
)
def test_triage_bad_input_names_the_field(api: ApiEnv, payload, status, code, field) -> None:
    _assert_error(api.post("operator", "/api/v1/triage", json=payload), status, code, field)


def test_malformed_json_and_wrong_body_types(api: ApiEnv) -> None:
    headers = {"Content-Type": "application/json"}
    _assert_error(
        api.post("operator", "/api/v1/triage", content=b'{"text": ', headers=headers), 400, "malformed_json"
    )
    _assert_error(
        api.post("operator", "/api/v1/triage", content=b"\xff\xfe", headers=headers), 400, "malformed_json"
    )
    _assert_error(api.post("operator", "/api/v1/triage", content=b"[1, 2]", headers=headers), 422)


def test_bodies_over_64kb_are_413_with_or_without_content_length(api: ApiEnv) -> None:
    from api.errors import MAX_BODY_BYTES  # derived from the text limit (tests/security/test_limits.py)

    big = b'{"text": "' + "字".encode() * (MAX_BODY_BYTES // 3 + 1) + b'"}'
    headers = {"Content-Type": "application/json"}
    _assert_error(
        api.post("operator", "/api/v1/cases", content=big, headers=headers), 413, "payload_too_large"
    )

    def chunks():
        for i in range(0, len(big), 8192):
            yield big[i : i + 8192]

    r = api.post("operator", "/api/v1/cases", content=chunks(), headers=headers)
    assert "content-length" not in {k.lower() for k in r.request.headers}
    _assert_error(r, 413, "payload_too_large")
    assert api.post("operator", "/api/v1/triage", json={"text": "字" * 20_000}).status_code == 200


def test_unknown_paths_methods_and_cases_keep_the_contract(api: ApiEnv) -> None:
    _assert_error(api.get("admin", "/api/v1/nothing"), 404, "not_found")
    _assert_error(api.delete("admin", "/api/v1/triage"), 405, "method_not_allowed")
    _assert_error(api.get("admin", "/api/v1/cases/2099010100001"), 404, "case_not_found")
    _assert_error(api.get("admin", "/api/v1/review-queue", params={"after": "garbage"}), 422, field="after")
    _assert_error(api.get("admin", "/api/v1/cases", params={"limit": 0}), 422, field="limit")


def test_metrics_in_prometheus_format(api: ApiEnv) -> None:
    api.post("operator", "/api/v1/triage", json={"text": ELEVATOR})
    r = api.get("admin", "/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    assert 'triage_http_requests_total{method="POST",route="/api/v1/triage",status="200"}' in r.text
    assert (
        "triage_http_request_duration_seconds_bucket" in r.text and "process_resident_memory_bytes" in r.text
    )
    assert re.search(r'triage_model_info\{model_version="[^"]+"\} 1\.0', r.text)


def test_open311_round_trip(api: ApiEnv) -> None:
    services = api.get("operator", "/open311/v2/services.json").json()
    codes = [s["service_code"] for s in services]
    assert "城乡建设" in codes and all(s["type"] == "realtime" for s in services)
    definition = api.get("operator", "/open311/v2/services/城乡建设.json").json()
    assert definition["service_code"] == "城乡建设" and definition["attributes"][0]["code"] == "subcategory"
    _assert_error(api.get("operator", "/open311/v2/services/火星.json"), 404, "unknown_service")

    form = {
        "service_code": "城乡建设",
        "description": SEWAGE,
        "address_string": "新华村二组",
        "phone": "13800001111",
    }
    created = api.post(None, "/open311/v2/requests.json", data=form | {"api_key": api.tokens["operator"]})
    assert created.status_code == 201, created.text
    request_id = created.json()[0]["service_request_id"]
    token = created.json()[0]["token"]
    got = api.get("operator", f"/open311/v2/requests/{request_id}.json").json()[0]
    assert got["status"] == "open" and got["agency_responsible"] and got["expected_datetime"]
    assert got["address"] == "新华村二组" and "13800001111" not in got["description"]
    assert api.get("operator", f"/open311/v2/tokens/{token}.json").json() == [
        {"service_request_id": request_id, "token": token}
    ]
    again = api.post("operator", "/open311/v2/requests.json", data=form)
    again_id = again.json()[0]["service_request_id"]
    notes = api.get("operator", f"/open311/v2/requests/{again_id}.json").json()[0]["status_notes"]
    assert request_id in notes  # likely duplicate
    api.post("reviewer", f"/api/v1/cases/{again_id}/review", json={"action": "merge", "into": request_id})
    merged = api.get("operator", "/open311/v2/requests.json", params={"service_request_id": again_id}).json()[
        0
    ]
    assert merged["status"] == "closed" and request_id in merged["status_notes"]
    listed = api.get("operator", "/open311/v2/requests.json", params={"status": "open"}).json()
    assert request_id in [r["service_request_id"] for r in listed]
    key = {"Idempotency-Key": "o311-1"}
    first = api.post("operator", "/open311/v2/requests.json", data=form, headers=key)
    retry = api.post("operator", "/open311/v2/requests.json", data=form, headers=key)
    assert first.status_code == retry.status_code == 201 and first.json() == retry.json()
    bad = api.post("operator", "/open311/v2/requests.json", data=form | {"service_code": "火星"})
    assert _assert_error(bad, 422, "unknown_category", "service_code")["allowed"]
    _assert_error(api.post(None, "/open311/v2/requests.json", data={}), 401)


def test_cli_users_add_prints_a_token_once(tmp_path, monkeypatch) -> None:
    import typer
    from sqlmodel import select

    from api.cli import register
    from api.security import hash_token
    from triage.config import get_settings
    from triage.store.db import Database
    from triage.store.models import ApiToken

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("TRIAGE_DATABASE_URL", url)
    get_settings.cache_clear()
    app = typer.Typer()
    app.command("noop")(lambda: None)
    register(app)
    runner = CliRunner()
    try:
        ok = runner.invoke(app, ["users", "add", "wang", "--role", "department", "--department", "housing"])
        assert ok.exit_code == 0, ok.output
        token = ok.stdout.strip().splitlines()[-1]
        assert token.startswith("pt_")
        bad = runner.invoke(app, ["users", "add", "li", "--role", "department", "--department", "nasa"])
        assert bad.exit_code == 2 and "unknown department" in bad.output
        assert runner.invoke(app, ["users", "add", "li", "--role", "wizard"]).exit_code == 2
        assert runner.invoke(app, ["users", "add", "wang", "--role", "admin"]).exit_code == 2
    finally:
        get_settings.cache_clear()
    db = Database(url)
    with db.session() as session:
        stored = [t.token_hash for t in session.exec(select(ApiToken)).all()]
    db.dispose()
    assert stored == [hash_token(token)] and token not in stored
