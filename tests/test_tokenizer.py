"""Tokenizer: governance user dictionary, stopwords and noise removal."""

from __future__ import annotations

from triage.text.tokenizer import get_tokenizer, stopwords, tokenize, user_terms


def test_governance_terms_stay_whole() -> None:
    tokens = tokenize("网格员反映老旧小区加装电梯进展慢，物业公司不管楼道堆物")
    for term in ("网格员", "老旧小区", "加装电梯", "物业公司", "楼道堆物"):
        assert term in tokens


def test_stopwords_punctuation_numbers_and_place_codes_are_dropped() -> None:
    tokens = tokenize("您好！请问A3区的井盖丢失了2019年怎么办？？")
    assert "井盖" in tokens
    for noise in ("您好", "请问", "的", "了", "！", "2019", "A3", "？"):
        assert noise not in tokens


def test_same_tokens_every_time() -> None:
    text = "晚上广场舞噪音扰民，希望城管执法部门处理"
    assert tokenize(text) == tokenize(text)


def test_tokenizer_is_a_singleton() -> None:
    assert get_tokenizer() is get_tokenizer()


def test_resources_are_loaded() -> None:
    assert "的" in stopwords() and "#" not in "".join(stopwords())
    assert {"网格员", "人大代表", "接诉即办", "井盖", "噪音扰民"} <= set(user_terms())
