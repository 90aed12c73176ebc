"""Submit, accept, correct, merge, reject; the duplicate index kept in step (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from triage.errors import InputError
from triage.store.errors import CaseNotFoundError, ValidationError, VersionConflictError
from triage.store.models import CaseStatus
from triage.store.service import CaseService

S = CaseStatus
SEWAGE = "新华村二组的下水道堵了一个星期，污水倒灌进一楼住户家里，臭气熏天，希望尽快派人疏通。"
SEWAGE_AGAIN = "新华村二组下水道堵了一个多星期，污水都倒灌进一楼住户家里了，臭气熏天，希望尽快派人来疏通！"
SEWAGE_THIRD = "新华村二组的下水道已经堵了一个星期，污水倒灌进一楼住户家中，臭气熏天，请尽快派人疏通。"
PARKING = "实验小学门口每天放学时间乱停车严重，接孩子的车把路都堵死了，希望交警加强管理。"
WAGES = "我在河西街道一家装修公司打工，老板已经拖欠了三个月工资，一直说没钱，希望劳动监察帮忙讨薪。"


def test_submit_stores_suggestion_apart_from_decision(case_service) -> None:
    case = case_service.submit(
        PARKING,
        title="学校门口乱停车",
        source="deputy",
        reporter_name="王小明",
        reporter_contact="13800001111",
        grid_code="G007",
        community="幸福里社区",
        street="河西街道",
        address="实验小学南门",
    )
    again = case_service.get(case.case_no)
    assert again.case_no == case.case_no and again.source == "deputy" and again.title == "学校门口乱停车"
    assert again.suggested_category and again.suggested_department and again.model_version
    assert again.top_k and again.top_k[0]["label"] and 0 < again.confidence <= 1
    assert again.category is None and again.department_code is None and again.reviewed_by is None
    assert again.street == "河西街道" and again.grid_code == "G007"


def test_submit_masks_pii_in_the_display_copy(case_service) -> None:
    case = case_service.submit(WAGES + "我的电话是13912345678，身份证110101199003071234。")
    assert "13912345678" in case.text
    assert "13912345678" not in case.text_masked and "110101199003071234" not in case.text_masked


def test_submit_rejects_bad_input_and_unknown_source(case_service) -> None:
    with pytest.raises(InputError) as info:
        case_service.submit("   ")
    assert info.value.code == "empty_text"
    with pytest.raises(ValidationError) as info:
        case_service.submit(PARKING, source="fax")
    assert info.value.code == "unknown_source" and info.value.field == "source"
    with pytest.raises(ValidationError) as info:
        case_service.submit(PARKING, reporter_name="长" * 65)
    assert info.value.code == "too_long" and info.value.field == "reporter_name"
    assert case_service.queue_count() == 0


def test_submit_many_keeps_positions_and_reports_bad_items(case_service) -> None:
    out = case_service.submit_many([{"text": PARKING}, {"text": " \t\n"}, {"text": WAGES, "source": "batch"}])
    assert out[0].case_no and out[2].source == "batch"
    assert isinstance(out[1], InputError) and out[1].field == "items[1]"
    assert int(out[2].case_no) == int(out[0].case_no) + 1


def test_accept_makes_the_suggestion_the_decision(case_service) -> None:
    case = case_service.submit(PARKING)
    done = case_service.accept(case.case_no, "rev", requirement="请于三日内答复")
    assert done.status == S.DISPATCHED and not done.corrected
    assert (done.category, done.department_code, done.level) == (
        case.suggested_category,
        case.suggested_department_code,
        case.suggested_level,
    )
    assert done.reviewed_by == "rev" and done.reviewed_at is not None


def test_correct_records_the_difference(case_service) -> None:
    case = case_service.submit(WAGES)
    catalog = case_service.catalog
    category = next(c for c in catalog.category_names() if c != case.suggested_category)
    dept = next(d for d in catalog.departments() if d.code != case.suggested_department_code)
    done = case_service.correct(
        case.case_no, "rev", category=category, department_code=dept.code, note="分类有误"
    )
    assert done.status == S.DISPATCHED and done.corrected
    assert (done.category, done.department_code, done.department) == (category, dept.code, dept.name)
    assert done.suggested_category == case.suggested_category  # the suggestion is kept
    event = case_service.audit_trail(case.case_no)[-1]
    assert event.action == "correct" and event.actor == "rev" and event.note == "分类有误"
    correction = event.after["correction"]
    assert correction["category"] == {"suggested": case.suggested_category, "final": category}
    assert correction["department_code"] == {"suggested": case.suggested_department_code, "final": dept.code}


def test_correct_with_the_same_values_counts_as_accept(case_service) -> None:
    case = case_service.submit(PARKING)
    done = case_service.correct(case.case_no, "rev", category=case.suggested_category)
    assert not done.corrected and case_service.audit_trail(case.case_no)[-1].action == "accept"


def test_correct_rejects_unknown_values_listing_allowed_ones(case_service) -> None:
    case = case_service.submit(PARKING)
    with pytest.raises(ValidationError) as info:
        case_service.correct(case.case_no, "rev", category="外星人入侵")
    err = info.value
    assert err.code == "unknown_category" and err.field == "category"
    assert case_service.catalog.category_names()[0] in err.message
    with pytest.raises(ValidationError) as info:
        case_service.correct(case.case_no, "rev", department_code="no_such_dept")
    assert info.value.code == "unknown_department" and info.value.field == "department_code"
    with pytest.raises(ValidationError) as info:
        case_service.correct(case.case_no, "rev", level="省")
    assert info.value.code == "unknown_level"
    assert case_service.get(case.case_no).status == S.PENDING_REVIEW


def test_stale_version_is_a_conflict(case_service) -> None:
    case = case_service.submit(PARKING)
    case_service.claim(case.case_no, "rev")  # version 1 → 2
    with pytest.raises(VersionConflictError) as info:
        case_service.accept(case.case_no, "rev", version=1)
    assert info.value.code == "version_conflict"
    assert case_service.accept(case.case_no, "rev", version=2).version == 3


def test_unknown_case_number(case_service) -> None:
    with pytest.raises(CaseNotFoundError) as info:
        case_service.accept("2099010100001", "rev")
    assert info.value.code == "case_not_found"


def test_duplicates_found_merged_and_counted(case_service) -> None:
    first = case_service.submit(SEWAGE)
    second = case_service.submit(SEWAGE_AGAIN)
    assert second.duplicate_candidates and second.duplicate_candidates[0]["case_no"] == first.case_no
    assert case_service.submit(PARKING).duplicate_candidates == []

    merged = case_service.merge(second.case_no, first.case_no, "rev")
    assert merged.status == S.MERGED and merged.duplicate_of == first.case_no
    assert case_service.get(first.case_no).duplicate_count == 1
    # the merged case left the index: a third report matches only the parent
    third = case_service.submit(SEWAGE_THIRD)
    assert [d["case_no"] for d in third.duplicate_candidates] == [first.case_no]


def test_merge_counts_the_childs_own_duplicates_and_follows_chains(case_service) -> None:
    a, b, c = (case_service.submit(t) for t in (SEWAGE, PARKING, WAGES))
    d = case_service.submit(SEWAGE_AGAIN)
    case_service.merge(d.case_no, b.case_no, "rev")  # b gathered one duplicate
    case_service.merge(b.case_no, a.case_no, "rev")  # a: +1 for b, +1 for b's duplicate
    assert case_service.get(a.case_no).duplicate_count == 2
    assert case_service.get(a.case_no).citizens == 3
    case_service.merge(c.case_no, b.case_no, "rev")  # b is merged: follow it to a
    assert case_service.get(c.case_no).duplicate_of == a.case_no
    assert case_service.get(a.case_no).duplicate_count == 3
    with pytest.raises(ValidationError) as info:
        case_service.merge(a.case_no, a.case_no, "rev")
    assert info.value.code == "merge_into_self"


def test_reject_and_close_leave_the_index(case_service) -> None:
    first = case_service.submit(SEWAGE)
    case_service.reject(first.case_no, "rev", "重复投诉，已电话告知")
    assert case_service.submit(SEWAGE_AGAIN).duplicate_candidates == []


def test_index_is_rebuilt_from_open_cases_at_start_up(store_db, store_triager, store_clock) -> None:
    svc = CaseService(store_db, store_triager, clock=store_clock)
    open_case = svc.submit(SEWAGE)
    gone = svc.submit(PARKING)
    svc.reject(gone.case_no, "rev", "无效信息")
    restarted = CaseService(store_db, store_triager, clock=store_clock)  # a new process would do this
    assert len(restarted.duplicate_index) == 1
    again = restarted.submit(SEWAGE_AGAIN)
    assert [d["case_no"] for d in again.duplicate_candidates] == [open_case.case_no]


def test_display_copy_masks_the_reporter(case_service) -> None:
    from triage.store.display import case_dict, mask_contact, mask_name

    phone = "13912345678"
    case = case_service.submit(WAGES + "联系电话" + phone, reporter_name="李建国", reporter_contact=phone)
    shown = case_dict(case_service.get(case.case_no))
    assert shown["reporter_name"] == "李**" and shown["reporter_contact"] == "139****5678"
    assert "13912345678" not in shown["text"] and shown["citizens"] == 1
    assert case_dict(case, reveal=True)["reporter_contact"] == "13912345678"
    assert mask_name("欧阳娜娜") == "欧***" and mask_contact("wx_abcdef") == "wx_****ef"
