"""Dashboard aggregates (triage/store/stats.py) on SQLite and PostgreSQL, and the SVG charts and
display filters of the web UI."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from support.api_env import ELEVATOR, NOISE, PARKING, SEWAGE, WAGES

from api.web import charts
from api.web.dashboard import propose_link
from api.web.render import deadline_text, highlight, reason_text
from triage.dedup.hot_issues import HotIssue
from triage.store import stats
from triage.store.proposals import MAX_PROPOSAL_CASES


def _through(service, clock, text: str, dept: str, *, resolve: bool = False, score: int | None = None) -> str:
    case = service.submit(text, actor="op", grid_code="G1")
    service.correct(case.case_no, "rev", category="城乡建设", department_code=dept)
    if resolve:
        clock.advance(hours=10)
        service.resolve(case.case_no, "dept", "已处理")
    if score:
        service.feedback(case.case_no, "op", score)
    return case.case_no


def test_aggregates_follow_the_cases(case_service, store_clock) -> None:
    db, now = case_service.db, store_clock
    _through(case_service, now, SEWAGE, "housing", resolve=True, score=5)
    _through(case_service, now, ELEVATOR, "housing", resolve=True, score=3)
    _through(case_service, now, NOISE, "eco_env")
    case_service.submit(PARKING, actor="op", grid_code="G2")
    rejected = case_service.submit(WAGES, actor="op")
    case_service.reject(rejected.case_no, "rev", "重复反映")

    volume = stats.daily_volume(db, now(), 7)
    assert len(volume.days) == 7 and volume.total == 5
    assert volume.days[-1] == now().astimezone(stats.LOCAL_TZ).date()

    res = stats.resolution(db, now(), 7)
    assert (res.received, res.actionable, res.resolved) == (5, 4, 2)
    assert res.rate == 0.5 and res.avg_hours is not None and 9.9 < res.avg_hours < 10.1
    assert res.on_time_rate is not None and 0 <= res.on_time_rate <= 1

    sat = stats.satisfaction(db, now(), 7)
    assert sat.counts == {1: 0, 2: 0, 3: 1, 4: 0, 5: 1} and sat.average == 4.0

    load = {d.code: d for d in stats.department_load(db, now())}
    assert load["eco_env"].open == 1 and load["eco_env"].overdue == 0
    assert "housing" not in load  # both housing cases are resolved
    now.advance(days=60)  # every deadline has passed
    load = {d.code: d for d in stats.department_load(db, now())}
    assert load["eco_env"].overdue == 1
    assert sum(d.open for d in load.values()) == 2  # eco_env + the pending parking case

    scoped = stats.resolution(db, now(), 90, stats.StatsScope(department_code="housing"))
    assert scoped.received == 2 and scoped.rate == 1.0
    by_grid = stats.daily_volume(db, now(), 90, stats.StatsScope(grids=("G2",)))
    assert by_grid.total == 1
    assert stats.daily_volume(db, now(), 90, stats.StatsScope(grids=())).total == 0


def test_small_categories_are_summed_into_other(case_service, store_clock) -> None:
    for text in (SEWAGE, PARKING, WAGES, NOISE):
        case_service.submit(text, actor="op")
    volume = stats.daily_volume(case_service.db, store_clock(), 3, top=1)
    assert len(volume.series) == 2 and stats.OTHER in volume.series
    assert volume.total == 4


def test_hot_issue_records_are_recent_open_cases(case_service, store_clock) -> None:
    a = case_service.submit(SEWAGE, actor="op")
    case_service.submit(SEWAGE + "请尽快处理", actor="op")
    store_clock.advance(days=40)
    late = case_service.submit(PARKING, actor="op")
    records = stats.hot_issue_records(case_service.db, store_clock(), 30)
    assert [r.id for r in records] == [late.case_no]
    records = stats.hot_issue_records(case_service.db, store_clock(), 90)
    assert len(records) == 3 and records[0].id == a.case_no  # oldest first
    assert [r.likes for r in records] == [0, 0, 0]


def test_hot_issue_records_count_merged_citizens_as_likes(case_service, store_clock) -> None:
    parent = case_service.submit(SEWAGE, actor="op")
    for extra in ("请尽快处理", "已经好几天了"):
        child = case_service.submit(SEWAGE + extra, actor="op")
        case_service.merge(child.case_no, parent.case_no, "rev")
    records = stats.hot_issue_records(case_service.db, store_clock(), 30)
    assert [(r.id, r.likes) for r in records] == [(parent.case_no, 2)]  # merged cases are not records


def test_propose_link_links_at_most_a_proposals_cases() -> None:
    ids = [f"C{n:04d}" for n in range(MAX_PROPOSAL_CASES + 50)]
    issue = HotIssue(1, "广场舞噪音", "C0007", len(ids), ids, 9.0, keywords=["噪音"], place="南门广场")
    query = parse_qs(urlsplit(propose_link(issue)).query)
    linked = query["case_nos"][0].split(",")
    assert len(linked) == MAX_PROPOSAL_CASES and linked[:2] == ["C0007", ids[-1]]  # representative, newest
    assert query["title"] == ["关于南门广场广场舞噪音的建议"]
    problem = query["problem"][0]
    assert f"{len(ids)} 件诉求" in problem and f"所附为其中 {MAX_PROPOSAL_CASES} 件" in problem
    small = HotIssue(2, "路灯不亮", "C1", 2, ["C1", "C2"], 3.0)
    assert parse_qs(urlsplit(propose_link(small)).query)["case_nos"] == ["C1,C2"]


def test_charts_are_escaped_svg_with_tooltips() -> None:
    days = stats.period(datetime.now(stats.LOCAL_TZ), 3)[2]
    svg = str(charts.stacked_daily(days, {"<script>": [1, 2, 3], "环境保护": [0, 1, 0]}))
    assert svg.startswith("<svg") and "<script>" not in svg and "&lt;script&gt;" in svg
    assert svg.count("<rect") >= 4 and "<title>" in svg
    assert "暂无在办案件" in str(charts.department_bars([]))
    bars = str(charts.department_bars([("住房和城乡建设局", 5, 2)]))
    assert "超期 2 件" in bars and "在办 5 件" in bars
    assert "50%" in str(charts.ring(0.5, "办结率")) and "—" in str(charts.ring(None, "办结率"))
    assert "5 分：3 件" in str(charts.satisfaction_bars({5: 3}))
    assert "↑" in str(charts.hot_bars([("路灯不亮", 4, 2.0)]))


def test_display_filters() -> None:
    marked = str(highlight("楼道<b>堆物</b>堵塞消防通道", ["堆物", "消防通道"]))
    assert "<b>" not in marked and "&lt;b&gt;" in marked
    assert marked.count('<mark class="term">') == 2
    assert (
        reason_text({"source": "rule", "rule_id": "r1", "matched_terms": ["燃气", "泄漏"]}).count("燃气") == 1
    )
    assert "默认" in reason_text({"source": "default"})
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert deadline_text(now + timedelta(hours=5), now) == "剩余 5 小时"
    assert deadline_text(now - timedelta(days=3), now).startswith("超期 3.0 天")
    assert re.match(r"剩余 \d+ 分钟", deadline_text(now + timedelta(minutes=30), now))
