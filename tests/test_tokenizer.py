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


BLOCK_CACHE_CASES = [
    "小区楼道堆放杂物，堵塞消防通道。请相关部门处理！",
    "A3区大道西行便道，未管所路口至加油站路段，人行道被圈占",
    "来电人反映：ＡＢＣ１２３全角字符 and English words 3.5km",
    "𠀀扩展区汉字😀表情\u3000全角空格\t制表符\r\n换行",
    "",
    "   ",
    "噪音噪音噪音，噪音！！！",
]


def test_block_cache_gives_exactly_what_segmenting_the_whole_text_gives() -> None:
    from triage.text import tokenizer

    def whole_text(text: str) -> list[str]:
        words = tokenizer.get_tokenizer().lcut(text, HMM=tokenizer.USE_HMM)
        return [w for w in words if tokenizer._keep(w)]

    tokenizer.clear_block_cache()
    for text in BLOCK_CACHE_CASES * 2:  # the second round is served from the cache
        assert tokenize(text) == whole_text(text), text
    hits, misses = tokenizer.block_cache_info()
    assert hits >= misses > 0


def test_cached_runs_are_not_shared_between_results() -> None:
    first = tokenize("请相关部门处理")
    first.append("mutated")
    assert "mutated" not in tokenize("请相关部门处理")


def test_cut_words_is_the_whole_cut_and_reuses_what_tokenize_cut() -> None:
    """Place extraction reads every word (stopwords and numbers included) from the cut tokenizing
    just made: the same words as cutting the whole text, and no second jieba cut."""
    from triage.text import tokenizer
    from triage.text.places import PlaceExtractor

    extractor = PlaceExtractor()
    tokenizer.clear_block_cache()
    for text in BLOCK_CACHE_CASES:
        tokenize(text)
        _, misses = tokenizer.block_cache_info()
        assert tokenizer.cut_words(text) == tokenizer.get_tokenizer().lcut(text, HMM=tokenizer.USE_HMM), text
        extractor.extract(text)
        assert tokenizer.block_cache_info()[1] == misses, "extracting places cut the text again"
    words = tokenizer.cut_words("幸福小区3栋楼下的井盖松动了")
    assert "3" in words and "的" in words and "幸福" in "".join(words)


def _random_texts(n: int, seed: int) -> list[str]:
    """Texts that stress the segmentation: dictionary words and their prefixes run together (so
    routes tie and overlap), unknown characters, ASCII letters and digits, punctuation, whitespace."""
    import random

    rng = random.Random(seed)
    freq = get_tokenizer().FREQ
    words = sorted(w for w, f in freq.items() if f and 2 <= len(w) <= 6)
    prefixes = sorted(w for w, f in freq.items() if not f)[:5000]
    pieces = [*"的了是在和区路号栋楼ABCxyz0123456789.%-+#&_，。！？ \t\r\n㐀𠀀😀ＡＢ１２", "  ", "\r\n"]
    texts = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 30)):
            kind = rng.random()
            if kind < 0.6:
                parts.append(rng.choice(words))
            elif kind < 0.75:
                parts.append(rng.choice(prefixes))
            else:
                parts.append(rng.choice(pieces))
        texts.append("".join(parts))
    return texts


def test_fast_segmentation_is_jiebas_word_for_word() -> None:
    """The fused dynamic programme gives exactly jieba's ``lcut(HMM=False)`` with the project's
    dictionary, on texts of dictionary words, prefixes, ASCII runs, punctuation and whitespace."""
    from triage.text import tokenizer

    tok = tokenizer.get_tokenizer()
    texts = [*_random_texts(3000, seed=7), *BLOCK_CACHE_CASES, "广场舞噪音南门广场ABC12ab3", "a1b2c3中d4"]
    for text in texts:
        expected = tok.lcut(text, HMM=False)
        got = [w for block in tokenizer._BLOCKS.split(text) if block for w in tokenizer._segment(block)]
        assert got == expected, text


def test_fast_segmentation_breaks_ties_and_follows_the_dictionary_as_jieba_does() -> None:
    """A dictionary made so that two routes score exactly the same float: jieba's ``max`` over
    (score, end) keeps the longer first word, and so must we; a word added later moves the total."""
    import math

    import jieba

    from triage.text import tokenizer

    tok = jieba.Tokenizer()
    tok.FREQ = {"甲": 2, "甲乙": 2, "乙": 0, "乙丙": 2, "丙": 2, "丁": 0}  # 0: a prefix, not a word
    tok.total = 8
    tok.initialized = True
    for text in ("甲乙丙", "甲乙丙丁戊", "丁甲乙丙ab1甲", "乙丙甲乙"):
        expected = tok.lcut(text, HMM=False)
        assert tokenizer._cut_han(text, tok.FREQ, math.log(tok.total)) == expected, text
    assert tok.lcut("甲乙丙", HMM=False) == ["甲乙", "丙"]  # the tie this test is about
    tok.add_word("乙丙甲", 50)
    text = "甲乙丙甲乙"
    assert tokenizer._cut_han(text, tok.FREQ, math.log(tok.total)) == tok.lcut(text, HMM=False)


def test_single_ascii_letters_and_digits_are_recognised_as_jieba_does() -> None:
    """The cut joins single ASCII letters/digits as jieba's ``re_eng`` does; the str-method test it
    uses instead agrees with that pattern on every code point."""
    import jieba

    for code in range(0x110000):
        char = chr(code)
        assert bool(jieba.re_eng.match(char)) == (char.isascii() and char.isalnum()), hex(code)


def test_tokenizer_bench_reports_no_differing_runs(tmp_path) -> None:
    """``bench/bench_tokenizer.py`` (the figures in docs/benchmarks.md) on a file of its own."""
    import csv
    import json
    import subprocess
    import sys
    from pathlib import Path

    data = tmp_path / "texts.csv"
    with data.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["title", "body"])
        writer.writerows([t[:6], t] for t in _random_texts(50, seed=3))
    script = Path(__file__).resolve().parent.parent / "bench" / "bench_tokenizer.py"
    out = subprocess.run(
        [sys.executable, str(script), "--data", str(data), "--repeat", "1", "--json"],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    assert figures["runs"] > 100 and figures["runs_differing"] == 0
