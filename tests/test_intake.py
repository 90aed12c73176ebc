"""Text intake: the stored form, the model's normalised copy, validation errors and PII masking."""

from __future__ import annotations

import pytest

from triage.config import get_settings
from triage.errors import InputError
from triage.text.intake import accept_text, clean_text, decode_text, mask_pii, normalize_text, prepare_text

MAX_TEXT_CHARS = get_settings().max_text_chars


def test_full_width_forms_become_half_width() -> None:
    assert normalize_text("ＡＢＣ１２３，小区") == "ABC123,小区"


@pytest.mark.parametrize(
    "text",
    [
        "来电人反映：小区（３栋）路灯坏了！！电话１３８",  # full-width forms only: the fast path
        "Ａ\u0301ｅ\u0301 combining marks after full-width letters",  # NFC composes after the mapping
        "㍿ ﬁ ① ｶﾀｶﾅ ２⁵ 全角\u3000空格 ﹐small forms﹒",  # compatibility forms outside the mapped block
        "e\u0301 plain decomposed",
    ],
)
def test_nfkc_fast_path_is_nfkc(text: str) -> None:
    import unicodedata

    from triage.text.intake import _nfkc

    assert _nfkc(text) == unicodedata.normalize("NFKC", text)


def test_html_tags_and_entities_are_removed() -> None:
    assert normalize_text("<p>井盖&nbsp;丢失</p><br/>&lt;急&gt;") == "井盖 丢失 <急>"


def test_whitespace_and_control_characters_are_tidied() -> None:
    raw = "  楼道\u3000\u3000堆物\x00\x07 \t\r\n\r\n\r\n消防通道\u200b堵塞  "
    assert normalize_text(raw) == "楼道 堆物\n消防通道堵塞"


def test_spreadsheet_escapes_are_decoded() -> None:
    # Excel's OOXML escapes survive CSV exports: "_x000D_" is a carriage return, "_x005F_" an underscore.
    raw = "尊敬的领导：_x000D_您好！_x000d_井盖丢失_x005F_x"
    assert normalize_text(raw) == "尊敬的领导:\n您好!\n井盖丢失_x"
    assert normalize_text("编号_x12_和_xZZZZ_不变") == "编号_x12_和_xZZZZ_不变"
    assert normalize_text("路灯_xD800_坏了_x0007_") == "路灯坏了"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "empty_text"),
        ("   \n\t\u3000 ", "empty_text"),
        ("<p></p>", "empty_text"),
        ("小区\ufffd\ufffd路灯", "bad_encoding"),
        ("路" * (MAX_TEXT_CHARS + 1), "text_too_long"),
        ("路" * (MAX_TEXT_CHARS * 3), "text_too_long"),
        (None, "missing_text"),
        (12345, "wrong_type"),
    ],
)
def test_bad_input_is_rejected_with_a_typed_error(text: object, code: str) -> None:
    with pytest.raises(InputError) as info:
        prepare_text(text, field="body")  # type: ignore[arg-type]
    assert info.value.code == code
    assert info.value.field == "body"
    assert info.value.to_dict()["field"] == "body"
    assert info.value.message


def test_text_at_the_limit_is_accepted() -> None:
    assert len(prepare_text("路" * MAX_TEXT_CHARS)) == MAX_TEXT_CHARS
    # the limit counts the stored form: Windows line breaks count once
    assert len(accept_text("路\r\n" * (MAX_TEXT_CHARS // 2))) == MAX_TEXT_CHARS - 1


def test_the_stored_form_keeps_what_was_typed() -> None:
    typed = "尊敬的领导，您好！<b>楼道</b>堆物&lt;img src=x&gt; 😀👨\u200d👩\u200d👧 ＡＢＣ\u3000１２３"
    assert accept_text(typed) == typed
    assert accept_text("  楼道堆物\r\n消防通道\r堵塞\x00\x07\ufeff  ") == "楼道堆物\n消防通道\n堵塞"
    assert clean_text("路灯坏了_x000D_请修", ooxml=True) == "路灯坏了\n请修"
    assert clean_text("路灯坏了_x000D_请修") == "路灯坏了_x000D_请修"  # only imports decode Excel escapes
    # the model still reads the normalised copy, exactly as before
    assert prepare_text(typed) == normalize_text(typed)


def test_text_without_chinese_is_accepted_and_markup_only_is_empty() -> None:
    assert accept_text("hello world 123") == "hello world 123"
    assert accept_text("👍👍") == "👍👍"
    with pytest.raises(InputError) as info:
        accept_text("\u200b\u200b <br/>")
    assert info.value.code == "empty_text"


def test_lone_surrogates_are_rejected() -> None:
    with pytest.raises(InputError) as info:
        accept_text("路灯\ud800坏了")
    assert info.value.code == "bad_encoding"


def test_bytes_are_decoded_utf8_bom_and_gb18030() -> None:
    assert prepare_text("小区噪音扰民".encode()) == "小区噪音扰民"
    assert prepare_text(b"\xef\xbb\xbf" + "小区噪音扰民".encode()) == "小区噪音扰民"
    assert prepare_text("小区噪音扰民".encode("gb18030")) == "小区噪音扰民"


def test_undecodable_bytes_are_rejected() -> None:
    with pytest.raises(InputError) as info:
        decode_text(b"\xff\xfe\xfa\x80\x81", field="file")
    assert info.value.code == "bad_encoding"
    assert info.value.field == "file"


def test_mask_pii_masks_mobile_landline_and_id_numbers() -> None:
    text = "联系人手机13912345678，座机0731-88886666，身份证号11010519491231002X，门牌号12号"
    masked = mask_pii(text)
    assert "13912345678" not in masked and "139****5678" in masked
    assert "88886666" not in masked and "0731-****66" in masked
    assert "11010519491231002X" not in masked and masked.count("*") == 11 + 4 + 4
    assert "门牌号12号" in masked


def test_mask_pii_leaves_ordinary_numbers_alone() -> None:
    assert mask_pii("2019年5月9日有3栋楼共120户") == "2019年5月9日有3栋楼共120户"


def test_mobile_with_country_code_and_dashes_is_masked() -> None:
    assert "5678" in mask_pii("+86 139-1234-5678") and "1234" not in mask_pii("+86 139-1234-5678")
