"""Web UI pages over the real app (TestClient): login, CSRF, roles, intake, review, department desk,
feedback, error pages. The browser-level flow is in tests/browser/."""

from __future__ import annotations

import re

import pytest
from support.api_env import ELEVATOR, NOISE, PARKING, SEWAGE, WAGES
from test_web_support import WebUser, field_block, text_of, web_app

ROLE_PAGES = {
    "operator": {"/intake", "/supervision", "/grids", "/ledgers", "/dashboard"},
    "grid1": {"/intake", "/supervision", "/grids", "/ledgers", "/dashboard"},
    "reviewer": {"/intake", "/review", "/rereview", "/grids", "/ledgers", "/dashboard"},
    "dept_housing": {"/desk", "/supervision", "/proposals", "/grids", "/ledgers", "/dashboard"},
    "deputy": {"/intake", "/supervision", "/proposals", "/grids", "/ledgers", "/dashboard"},
    "admin": {
        "/intake",
        "/review",
        "/rereview",
        "/desk",
        "/supervision",
        "/proposals",
        "/grids",
        "/ledgers",
        "/dashboard",
    },
}
PAGES = ["/intake", "/review", "/rereview", "/desk", "/grids", "/dashboard"]


@pytest.fixture(scope="module")
def env(tmp_path_factory, store_triager):
    with web_app(f"sqlite:///{tmp_path_factory.mktemp('web') / 'web.db'}", store_triager) as env:
        yield env


@pytest.fixture(scope="module")
def users(env):
    return {
        name: WebUser(env.app, name) for name in ROLE_PAGES | {"grid2": 0, "dept_other": 0, "reviewer2": 0}
    }


def test_anonymous_users_are_sent_to_login(env) -> None:
    anon = WebUser(env.app, None)
    for path in PAGES + ["/", "/cases/2026010100001"]:
        r = anon.get(path)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), path
    page = anon.get("/login")
    assert page.status_code == 200 and "登录" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    schema = env.client.get("/openapi.json").json()
    assert not any(p in schema["paths"] for p in ["/login", "/intake", "/review", "/dashboard"])


def test_login_errors_are_shown_next_to_the_field(env) -> None:
    anon = WebUser(env.app, None)
    r = anon.login("grid1", "wrong-password")
    assert r.status_code == 422
    assert "用户名或密码不正确" in field_block(r.text, "password")
    anon.refresh_csrf()
    r = anon.post("/login", {"username": "", "password": "x"})
    assert r.status_code == 422 and "请输入用户名" in field_block(r.text, "username")


def test_login_redirects_only_to_local_pages(env) -> None:
    anon = WebUser(env.app, None)
    anon.refresh_csrf()
    targets = [
        ("/grids?view=problems", "/grids?view=problems"),
        ("//evil.example/x", "/intake"),
        ("https://evil.example/", "/intake"),
    ]
    for target, expected in targets:
        anon.client.cookies.clear()
        anon.refresh_csrf()
        r = anon.post("/login", {"username": "grid1", "password": "pw-grid1", "next": target})
        assert r.status_code == 303 and r.headers["location"] == expected


def test_posts_without_the_csrf_token_are_refused(users, env) -> None:
    grid = users["grid1"]
    before = env.count_cases()
    for data in ({"text": SEWAGE}, {"text": SEWAGE, "csrf_token": "forged"}):
        r = grid.post("/intake", data, csrf=False)
        assert r.status_code == 403 and "页面已过期" in r.text and "Traceback" not in r.text
    assert env.count_cases() == before
    r = grid.client.post("/intake/suggest", json={"text": SEWAGE})
    assert r.status_code == 403


@pytest.mark.parametrize("who", sorted(ROLE_PAGES))
def test_each_role_gets_its_pages_and_nothing_more(users, who) -> None:
    user = users[who]
    home = user.get("/")
    assert home.status_code == 303 and home.headers["location"] in ROLE_PAGES[who]
    nav = re.findall(r'<nav class="nav".*?</nav>', user.get("/dashboard").text, re.S)[0]
    assert set(re.findall(r'href="(/[a-z]+)"', nav)) == ROLE_PAGES[who]
    for path in PAGES:
        r = user.get(path)
        expected = 200 if path in ROLE_PAGES[who] else 403
        assert r.status_code == expected, (who, path, r.status_code)
        if expected == 403:
            assert "无权访问" in r.text


def test_live_suggestion_highlights_terms_and_masks_numbers(users) -> None:
    grid = users["grid1"]
    r = grid.suggest(SEWAGE + "我的电话是13812345678，身份证号110101199003071234。")
    assert r.status_code == 200
    assert '<mark class="term">' in r.text
    assert 'id="sugg-category"' in r.text and 'id="sugg-department"' in r.text
    assert "置信度" in r.text and "办理时限" in r.text and "分拨依据" in r.text
    assert "13812345678" not in r.text and "138****5678" in r.text
    assert "110101199003071234" not in r.text
    assert "无中文内容，需人工分拨" in grid.suggest("hello world 123").text  # the model abstains
    assert "输入诉求内容后" in grid.suggest("   ").text


def test_intake_errors_are_shown_next_to_the_field(users, env) -> None:
    grid = users["grid1"]
    before = env.count_cases()
    r = grid.post("/intake", {"text": "  "})
    assert r.status_code == 422 and "请输入诉求内容" in field_block(r.text, "text")
    r = grid.post("/intake", {"text": "路" * 20_001})
    assert r.status_code == 422 and "诉求内容过长" in field_block(r.text, "text")
    r = grid.post("/intake", {"text": NOISE, "grid": "G002", "reporter_phone": "abc"})
    assert r.status_code == 422
    assert "只能选择您负责的网格" in field_block(r.text, "grid")
    assert "联系电话" in field_block(r.text, "reporter_phone") and "error" in field_block(
        r.text, "reporter_phone"
    )
    assert NOISE in r.text  # the typed text is kept
    assert env.count_cases() == before


def test_submit_creates_the_case_once_with_numbers_masked(users, env) -> None:
    grid = users["grid1"]
    page = grid.get("/intake").text
    form_id = re.search(r'name="form_id" value="([^"]+)"', page).group(1)
    data = {"text": WAGES, "reporter_name": "张小明", "reporter_phone": "13900001111", "form_id": form_id}
    before = env.count_cases()
    first = grid.post("/intake", data)
    again = grid.post("/intake", data)  # double click / reload
    assert first.headers["location"] == again.headers["location"]
    assert env.count_cases() == before + 1
    case = grid.follow(first)
    assert case.status_code == 200 and "已受理" in case.text and "待审核" in case.text
    assert "13900001111" not in case.text and "139****1111" in case.text and "张**" in case.text


def test_duplicate_is_offered_at_intake_and_merged_by_the_reviewer(users) -> None:
    grid, rev = users["grid1"], users["reviewer"]
    first = grid.submit(ELEVATOR)
    offer = grid.suggest(ELEVATOR).text
    assert f'href="/cases/{first}"' in offer and "相似度" in offer
    assert f'name="duplicate_of" value="{first}"' in offer and "请审核员合并" in offer
    r = grid.post("/intake", {"text": ELEVATOR, "duplicate_of": first})
    second = r.headers["location"].rsplit("/", 1)[-1]
    child = grid.follow(r)
    assert f"已标记为案件 {first} 的疑似重复件" in child.text and "待审核" in child.text  # not merged yet
    assert re.search(r'id="citizens">1 人', grid.get(f"/cases/{first}").text)
    bench = rev.get(f"/review/{second}").text
    assert 'id="possible-duplicate"' in bench
    assert rev.post(f"/review/{second}/merge", {"into": first}).status_code == 303
    assert re.search(r'id="citizens">2 人', grid.get(f"/cases/{first}").text)
    # a reviewer merges at intake straight away
    r = rev.post("/intake", {"text": ELEVATOR, "duplicate_of": first})
    assert f"合并到案件 {first}" in rev.follow(r).text
    assert re.search(r'id="citizens">3 人', grid.get(f"/cases/{first}").text)


def _queue_case(users, text: str) -> str:
    return users["operator"].submit(text)


def test_review_queue_claim_and_field_errors(users) -> None:
    no = _queue_case(users, PARKING)
    rev, rev2 = users["reviewer"], users["reviewer2"]
    queue = rev.get("/review").text
    assert f'data-href="/review/{no}"' in queue and "待审核" in text_of(queue)
    assert rev.post(f"/review/{no}/claim").headers["location"] == f"/review/{no}"
    bench = rev.get(f"/review/{no}").text
    assert "我已领取" in rev.get("/review").text or "放弃领取" in bench
    # someone else cannot decide while the lease is held
    r = rev2.post(f"/review/{no}/accept", {})
    assert r.status_code == 409 and "已被其他审核员领取" in r.text
    # field errors next to the field
    r = rev.post(f"/review/{no}/correct", {"category": "不存在的分类", "department_code": "housing"})
    assert r.status_code == 422 and "error" in field_block(r.text, "category")
    r = rev.post(f"/review/{no}/correct", {"department_code": "nowhere"})
    assert r.status_code == 422 and "请选择有效的部门" in field_block(r.text, "department_code")
    r = rev.post(f"/review/{no}/reject", {"reason": ""})
    assert r.status_code == 422 and "请填写原因" in field_block(r.text, "reason")
    r = rev.post(f"/review/{no}/merge", {"into": "2000010100001"})
    assert r.status_code == 404 or "error" in field_block(r.text, "into")
    # correct → dispatched, with the correction in the timeline
    r = rev.post(f"/review/{no}/correct", {"category": "交通运输", "department_code": "traffic_police"})
    assert r.status_code == 303 and r.headers["location"] == "/review"
    case = rev.get(f"/cases/{no}").text
    assert "已交办" in case and "公安局交通警察大队" in case
    assert rev.get(f"/review/{no}").text.count("无需审核") == 1


def test_review_queue_pages_through_many_cases(users, env) -> None:
    from support.synthetic import bulk_insert_pending

    bulk_insert_pending(env.app.state.db, 60)
    rev = users["reviewer"]
    first = rev.get("/review").text
    assert first.count("data-row ") + first.count("data-row>") == 25
    ranks = [{"urgent": 0, "high": 1, "normal": 2}[p] for p in re.findall(r'class="badge prio-(\w+)"', first)]
    assert ranks == sorted(ranks)  # priority order
    nxt = re.search(r'href="(/review\?after=[^"]+)"', first).group(1)
    second = rev.get(nxt.replace("&amp;", "&")).text
    first_nos = set(re.findall(r'data-href="/review/(\d+)"', first))
    second_nos = set(re.findall(r'data-href="/review/(\d+)"', second))
    assert len(second_nos) == 25 and not first_nos & second_nos
    assert rev.get("/review?after=garbage").status_code == 200


def test_claim_next_and_keyboard_hints(users) -> None:
    rev = users["reviewer"]
    r = rev.post("/review/next")
    assert r.status_code == 303 and re.match(r"/review/\d+$", r.headers["location"])
    bench = rev.follow(r).text
    for key in ('data-key="a"', 'data-key="e"', 'data-key="m"', 'data-key="r"', 'data-key="n"'):
        assert key in bench
    no = r.headers["location"].rsplit("/", 1)[-1]
    assert rev.post(f"/review/{no}/release").status_code == 303


def _dispatch(users, text: str, department: str) -> str:
    no = users["operator"].submit(text)
    r = users["reviewer"].post(
        f"/review/{no}/correct", {"category": "城乡建设", "department_code": department}
    )
    assert r.status_code == 303, r.text[:1500]
    return no


def test_department_desk_scope_and_handling(users) -> None:
    no = _dispatch(users, SEWAGE, "housing")
    dept, other = users["dept_housing"], users["dept_other"]
    desk = dept.get("/desk").text
    assert f'data-case="{no}"' in desk and "签收办理" in desk
    assert f'data-case="{no}"' not in other.get("/desk").text
    forbidden = other.get(f"/cases/{no}")
    assert forbidden.status_code == 403 and "无权查看" in forbidden.text
    assert other.post(f"/cases/{no}/start", {}).status_code == 403
    # a department cannot review
    assert dept.post(f"/review/{no}/accept", {}).status_code == 403
    r = dept.post(f"/cases/{no}/start", {"back": "/desk"})
    assert r.status_code == 303 and r.headers["location"] == "/desk"
    r = dept.post(f"/cases/{no}/resolve", {"result": "  "})
    assert r.status_code == 422 and "error" in field_block(r.text, f"result-{no}")
    r = dept.post(f"/cases/{no}/resolve", {"result": "已疏通管道，污水清理完毕，已电话13812345678告知。"})
    assert r.status_code == 303
    case = dept.get(f"/cases/{no}").text
    assert "已办结" in case and "已疏通管道" in case
    assert "13812345678" not in case and "138****5678" in case
    assert (
        "回访" not in re.findall(r"可执行操作.*?</section>", case, re.S)[0]
    )  # feedback is not the department's


def test_department_returns_a_case_with_a_reason(users) -> None:
    no = _dispatch(users, NOISE + "（测试退回）", "housing")
    dept = users["dept_housing"]
    r = dept.post(f"/cases/{no}/return", {"note": ""})
    assert r.status_code == 422 and "error" in field_block(r.text, f"return-{no}")
    r = dept.post(f"/cases/{no}/return", {"note": "不属于本部门职责"})
    assert r.status_code == 303
    assert "不属于本部门职责" in users["reviewer"].get(f"/review/{no}").text


def test_feedback_closes_a_resolved_case(users) -> None:
    no = _dispatch(users, SEWAGE + "（测试回访）", "housing")
    dept = users["dept_housing"]
    assert dept.post(f"/cases/{no}/resolve", {"result": "已处理完毕"}).status_code == 303
    op = users["operator"]
    r = op.post(f"/cases/{no}/feedback", {})
    assert r.status_code == 422 and "请选择 1 到 5 分" in r.text
    r = op.post(f"/cases/{no}/feedback", {"satisfaction": "4", "comment": "满意"})
    assert r.status_code == 303
    case = op.get(f"/cases/{no}").text
    assert "已回访" in case and "4 分" in case and "回访并结案" in case


def test_errors_are_pages_for_browsers_and_json_for_the_api(users, env) -> None:
    grid = users["grid1"]
    r = grid.get("/cases/2000010100001")
    assert (
        r.status_code == 404 and "案件不存在" in r.text and r.headers["content-type"].startswith("text/html")
    )
    r = grid.get("/no-such-page")
    assert r.status_code == 404 and "<html" in r.text
    r = grid.get("/review/whatever/bogus")
    assert r.status_code in (403, 404, 405) and "Traceback" not in r.text
    api = env.client.get("/api/v1/nope")
    assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"


def test_logout_ends_the_session(env) -> None:
    user = WebUser(env.app, "deputy")
    assert user.get("/grids").status_code == 200
    assert user.post("/logout").status_code == 303
    assert user.get("/grids").status_code == 303


def test_a_password_change_or_deactivation_ends_the_session(env) -> None:
    from sqlmodel import select

    from api.security import hash_password
    from triage.store.models import User

    user = WebUser(env.app, "reviewer2")
    assert user.get("/review").status_code == 200
    with env.app.state.db.session(write=True) as session:
        row = session.exec(select(User).where(User.username == "reviewer2")).one()
        row.password_hash = hash_password("a-new-password")
        session.add(row)
    assert user.get("/review").status_code == 303  # back to the login form
    assert user.login("reviewer2", "a-new-password").status_code == 303
    assert user.get("/review").status_code == 200
    with env.app.state.db.session(write=True) as session:
        row = session.exec(select(User).where(User.username == "reviewer2")).one()
        row.active = False
        session.add(row)
    assert user.get("/review").status_code == 303
