"""督办与吹哨 on the case page (TestClient): who is offered which form, the forms' errors naming the
field, the thread shown to the department, report-in from the page, escaping of what people typed."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from support.api_env import SEWAGE
from test_web_support import WebUser, text_of, web_app

from triage.config import LOCAL_TZ


@pytest.fixture(scope="module")
def env(tmp_path_factory, store_triager):
    with web_app(f"sqlite:///{tmp_path_factory.mktemp('web') / 'web.db'}", store_triager) as env:
        yield env


@pytest.fixture
def case_no(env) -> str:
    """A G001 case dispatched to housing."""
    grid = WebUser(env.app, "grid1")
    number = grid.submit(SEWAGE)
    env.app.state.service.correct(number, "reviewer", category="城乡建设", department_code="housing")
    return number


def _due(days: int = 2) -> str:
    return (datetime.now(LOCAL_TZ) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M")


def test_forms_offered_by_role(env, case_no: str) -> None:
    deputy = text_of(WebUser(env.app, "deputy").get(f"/cases/{case_no}").text)
    assert "督办与吹哨" in deputy and "确认督办" in deputy and "确认吹哨" in deputy
    grid = text_of(WebUser(env.app, "grid1").get(f"/cases/{case_no}").text)
    assert "确认吹哨" in grid and "确认督办" not in grid
    for who in ("dept_housing", "operator", "reviewer"):
        page = text_of(WebUser(env.app, who).get(f"/cases/{case_no}").text)
        assert "确认督办" not in page and "确认吹哨" not in page, who


def test_supervise_from_the_page_and_the_department_sees_it(env, case_no: str) -> None:
    deputy = WebUser(env.app, "deputy")
    r = deputy.post(f"/cases/{case_no}/supervise", {"requirement": "<b>三日内</b>疏通下水道", "due": _due()})
    assert r.status_code == 303 and r.headers["location"].endswith("#supervision")
    page = WebUser(env.app, "dept_housing").get(f"/cases/{case_no}").text
    assert "督办中" in page and "&lt;b&gt;三日内&lt;/b&gt;疏通下水道" in page and "<b>三日内" not in page


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"requirement": "", "due": "FUTURE"}, "请填写督办要求"),
        ({"requirement": "要求", "due": "2020-01-01T08:00"}, "请填写今后一年内的督办期限"),
        ({"requirement": "要求", "due": "不是时间"}, "请填写今后一年内的督办期限"),
    ],
)
def test_supervise_errors_name_the_field(env, case_no: str, form: dict, message: str) -> None:
    form = {k: (_due() if v == "FUTURE" else v) for k, v in form.items()}
    r = WebUser(env.app, "deputy").post(f"/cases/{case_no}/supervise", form)
    assert r.status_code == 422 and message in r.text
    assert "has-error" in r.text


def test_escalate_and_report_in_from_the_page(env, case_no: str) -> None:
    grid = WebUser(env.app, "grid1")
    r = grid.post(
        f"/cases/{case_no}/escalate", {"reason": "小区内无法解决", "target": "department:transport"}
    )
    assert r.status_code == 303, r.text[:2000]
    other = WebUser(env.app, "dept_other")
    page = text_of(other.get(f"/cases/{case_no}").text)
    assert "待报到" in page and "报到（确认接收）" in page and "小区内无法解决" in page
    assert other.post(f"/cases/{case_no}/report-in", {}).status_code == 303
    page = text_of(other.get(f"/cases/{case_no}").text)
    assert "已报到" in page and "报到（确认接收）" not in page
    housing = WebUser(env.app, "dept_housing").get(f"/cases/{case_no}")
    assert housing.status_code == 403  # the case moved to transport


def test_escalate_error_and_out_of_scope(env, case_no: str) -> None:
    grid = WebUser(env.app, "grid1")
    r = grid.post(f"/cases/{case_no}/escalate", {"reason": "", "target": ""})
    assert r.status_code == 422 and "请填写原因" in r.text
    r = grid.post(f"/cases/{case_no}/escalate", {"reason": "原因", "target": "department:housing"})
    assert r.status_code == 422 and "已在该部门办理" in r.text
    outsider = WebUser(env.app, "grid2")
    assert outsider.post(f"/cases/{case_no}/escalate", {"reason": "原因"}).status_code == 403
    assert WebUser(env.app, "deputy").post(f"/cases/{case_no}/report-in", {}).status_code == 403
    no_csrf = grid.post(f"/cases/{case_no}/escalate", {"reason": "原因"}, csrf=False)
    assert no_csrf.status_code in (400, 403)


def test_followup_from_the_case_page(env) -> None:
    grid = WebUser(env.app, "grid1")
    case_no = grid.submit(SEWAGE + "（三单元）", reporter_phone="13912345678")
    service = env.app.state.service
    service.correct(case_no, "reviewer", category="城乡建设", department_code="housing")
    service.resolve(case_no, "dept_housing", "已疏通")
    page = grid.get(f"/cases/{case_no}").text
    assert f'action="/cases/{case_no}/followup"' in page and "不满意（退回部门重办）" in page
    assert f'action="/cases/{case_no}/contact"' in page  # the grid worker may reveal the number to call
    r = grid.post(f"/cases/{case_no}/followup", {"rating": ""})
    assert r.status_code == 422 and "请选择评价结果" in r.text
    r = grid.post(f"/cases/{case_no}/followup", {"rating": "unreachable"})
    assert r.status_code == 303
    assert "未接通，已记录第 1 次回访" in text_of(grid.follow(r).text)
    r = grid.post(
        f"/cases/{case_no}/followup", {"rating": "unsatisfied", "comment": "<script>x</script>还是堵"}
    )
    assert r.status_code == 303
    page = grid.follow(r).text
    assert "已退回部门重新办理" in page and "<script>x</script>" not in page
    assert env.app.state.service.get(case_no).status == "in_progress"
    assert (
        WebUser(env.app, "dept_housing")
        .post(f"/cases/{case_no}/followup", {"rating": "satisfied"})
        .status_code
        == 403
    )


def test_supervision_page_per_role(env) -> None:
    grid = WebUser(env.app, "grid1")
    service = env.app.state.service
    watched = grid.submit(SEWAGE + "（五单元）")
    service.correct(watched, "reviewer", category="城乡建设", department_code="housing")
    deputy = WebUser(env.app, "deputy")
    assert (
        deputy.post(f"/cases/{watched}/supervise", {"requirement": "一周内根治", "due": _due(7)}).status_code
        == 303
    )
    assert (
        grid.post(
            f"/cases/{watched}/escalate", {"reason": "需交通配合", "target": "department:transport"}
        ).status_code
        == 303
    )
    page = text_of(deputy.get("/supervision").text)
    assert "督办台账" in page and "一周内根治" in page and "待回访" in page
    assert "只看我督办的" in page
    other = text_of(WebUser(env.app, "dept_other").get("/supervision").text)
    assert "吹哨待报到" in other and watched in other and "待回访" not in other
    assert "一周内根治" in other  # the supervision is on its case now: counted against it
    housing = text_of(WebUser(env.app, "dept_housing").get("/supervision").text)
    assert watched not in housing
    assert "督办回访" in text_of(grid.get("/intake").text)  # in the navigation
    assert WebUser(env.app, "reviewer").get("/supervision").status_code == 200  # reads all (READ_ALL)
    filtered = text_of(deputy.get("/supervision?state=overdue").text)
    assert "一周内根治" not in filtered


def test_desk_lists_whistles_to_report_in_and_flags_supervised_cases(env, case_no: str) -> None:
    deputy = WebUser(env.app, "deputy")
    assert (
        deputy.post(f"/cases/{case_no}/supervise", {"requirement": "三日内疏通", "due": _due()}).status_code
        == 303
    )
    dept = WebUser(env.app, "dept_housing")
    card = dept.get("/desk").text
    assert "代表督办" in card[card.index(f'data-case="{case_no}"') :][:2000]
    r = deputy.post(
        f"/cases/{case_no}/escalate", {"reason": "社区协调不了", "target": "department:transport"}
    )
    assert r.status_code == 303, r.text[:1000]
    transport = WebUser(env.app, "dept_other")
    desk = transport.get("/desk").text
    listed = desk[desk.index('id="desk-whistles"') :]
    assert case_no in listed[: listed.index("</section>")] and "社区协调不了" in text_of(listed)
    done = transport.post(f"/cases/{case_no}/report-in", {"next": "/desk"})
    assert done.status_code == 303 and done.headers["location"] == "/desk"
    after = transport.get("/desk").text
    if 'id="desk-whistles"' in after:  # other tests' whistles may still wait
        section = after[after.index('id="desk-whistles"') :]
        assert case_no not in section[: section.index("</section>")]
