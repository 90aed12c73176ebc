"""DuplicateIndex: near-duplicate lookup, removal, time window, stability and thread safety."""

from __future__ import annotations

import csv
import gc
import json
import random
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from datasketch import LeanMinHash, MinHash

import triage.dedup.lexical as dedup
from triage.dedup.lexical import DuplicateIndex
from triage.dedup.sketch import SCHEME, Sketcher, _clean_codepoints, _shingle_keys, shingle_hash32
from triage.result import DuplicateCandidate

NOISE = (
    "幸福里小区三号楼楼下新开了一家烧烤店，每天晚上营业到凌晨两点。油烟直接排进楼道，"
    "噪音吵得老人孩子无法入睡。我们已经向物业和城管反映过三次，至今没有任何处理结果。"
    "恳请相关部门尽快调查，责令商家安装油烟净化设备并限制营业时间。"
)
ROAD = (
    "建设路与人民路交叉口往东两百米的路面塌陷出一个大坑，下雨后积水很深。"
    "上周已经有两辆电动车在这里摔倒，骑车的学生和老人经过都很危险。"
    "希望交通部门尽快派人修补路面，并在维修前设置警示标志。"
)
SCHOOL = (
    "我是实验小学一年级学生家长。学校今年突然取消了课后延时服务，双职工家庭下午四点根本没法接孩子。"
    "请问教育局对课后服务有没有统一规定？能否督促学校恢复这项服务，或者提供其他解决办法？"
)
WATER = (
    "桂花园社区从本月初开始每天下午停水，没有任何提前通知，居民做饭洗澡都成了问题。"
    "打自来水公司热线一直说在检修管道，但是已经过去两周了还没有恢复。请有关部门督促尽快恢复正常供水。"
)
# Near-copies of NOISE: re-punctuated, one sentence dropped, a phrase added, two characters changed.
NOISE_REPUNCTUATED = NOISE.replace("，", ",").replace("。", ". ")
NOISE_EDITED = (
    "幸福里小区3号楼楼下新开了一家烧烤店，每天晚上营业到凌晨两点。油烟直接排进楼道，"
    "噪音吵得老人孩子无法入睡。这个问题已经反映过多次了！"
    "恳请有关部门尽快调查，责令商家安装油烟净化设备并限制营业时间。"
)


@pytest.fixture()
def index() -> DuplicateIndex:
    ix = DuplicateIndex(window_days=None)
    ix.add_many([("noise", NOISE, None), ("road", ROAD, None), ("school", SCHOOL, None)])
    return ix


def ids(result: list[DuplicateCandidate]) -> list[str]:
    return [c.case_id for c in result]


def test_exact_duplicate_scores_one(index: DuplicateIndex) -> None:
    assert index.query(NOISE) == [DuplicateCandidate("noise", 1.0)]


@pytest.mark.parametrize("text", [NOISE_REPUNCTUATED, NOISE_EDITED, "烧烤店噪音投诉\n" + NOISE])
def test_near_duplicates_are_found(index: DuplicateIndex, text: str) -> None:
    result = index.query(text)
    assert ids(result) == ["noise"]
    assert index.threshold <= result[0].score <= 1.0


def test_unrelated_text_is_not_found(index: DuplicateIndex) -> None:
    assert index.query(WATER) == []
    assert index.query("路灯坏了") == []


def test_text_without_word_characters_matches_nothing() -> None:
    ix = DuplicateIndex()
    ix.add("dots", "。。。！！！")
    assert "dots" in ix and len(ix) == 1
    assert ix.query("。。。！！！") == []
    assert ix.remove("dots")


def test_punctuation_spacing_case_and_emoji_are_ignored() -> None:
    ix = DuplicateIndex()
    ix.add("a", "ABC小区噪音扰民，请处理！")
    assert ids(ix.query("abc 小区 噪音 扰民 😡 请处理")) == ["a"]
    assert ix.query("abc 小区 噪音 扰民 😡 请处理")[0].score == 1.0


def test_empty_index_and_empty_batches() -> None:
    ix = DuplicateIndex()
    assert len(ix) == 0
    assert ix.query(NOISE) == []
    assert ix.query_many([]) == []
    ix.add_many([])
    assert len(ix) == 0


def test_remove(index: DuplicateIndex) -> None:
    assert index.remove("noise") is True
    assert index.remove("noise") is False
    assert "noise" not in index and len(index) == 2
    assert index.query(NOISE) == []
    assert ids(index.query(ROAD)) == ["road"]


def test_readding_an_id_replaces_it(index: DuplicateIndex) -> None:
    index.add("noise", WATER)
    assert len(index) == 3
    assert index.query(NOISE) == []
    assert ids(index.query(WATER)) == ["noise"]


def test_last_occurrence_in_a_batch_wins() -> None:
    ix = DuplicateIndex()
    ix.add_many([("a", NOISE, None), ("a", ROAD, None)])
    assert len(ix) == 1
    assert ix.query(NOISE) == [] and ids(ix.query(ROAD)) == ["a"]


def test_bulk_load_in_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dedup, "ADD_BATCH", 2)
    ix = DuplicateIndex()
    ix.add_many(
        [
            ("a", NOISE, None),
            ("b", ROAD, None),
            ("c", SCHOOL, None),
            ("a", WATER, None),
            ("d", NOISE_EDITED, None),
        ]
    )
    assert len(ix) == 4
    assert ids(ix.query(WATER)) == ["a"]
    assert ids(ix.query(NOISE)) == ["d"]


def test_shared_buckets_survive_removals() -> None:
    """Many cases with the same text share every LSH bucket; removing some keeps the rest."""
    ix = DuplicateIndex()
    ix.add_many([(f"copy{i}", NOISE, None) for i in range(6)] + [("road", ROAD, None)])
    for i in (0, 2, 5):
        assert ix.remove(f"copy{i}")
    assert ids(ix.query(NOISE, k=10)) == ["copy1", "copy3", "copy4"]
    for i in (1, 3, 4):
        ix.remove(f"copy{i}")
    assert ix.query(NOISE) == [] and ids(ix.query(ROAD)) == ["road"]
    assert all(table.size() == 1 for table in ix._lsh.hashtables)  # only ROAD's buckets are left


def test_index_keeps_no_gc_tracked_container_per_case() -> None:
    ix = DuplicateIndex()
    ix.add_many([(f"copy{i}", NOISE, None) for i in range(3)] + [("road", ROAD, None)])
    assert not any(gc.is_tracked(table._d) for table in ix._lsh.hashtables)
    assert not gc.is_tracked(ix._lsh.keys._d)


def test_removed_slots_are_reused_without_stale_matches(index: DuplicateIndex) -> None:
    index.remove("school")
    index.add("water", WATER)
    assert ids(index.query(WATER)) == ["water"]
    assert index.query(SCHOOL) == []


def test_exclude(index: DuplicateIndex) -> None:
    index.add("noise-2", NOISE_EDITED)
    assert ids(index.query(NOISE, exclude="noise")) == ["noise-2"]
    assert ids(index.query(NOISE, exclude="unknown")) == ["noise", "noise-2"]


def test_k_limits_and_orders_results() -> None:
    ix = DuplicateIndex()
    ix.add_many(
        [("c", NOISE_EDITED, None), ("b", NOISE, None), ("a", NOISE, None), ("d", NOISE_REPUNCTUATED, None)]
    )
    result = ix.query(NOISE, k=2)
    assert ids(result) == ["a", "b"]  # equal scores are ordered by case id
    full = ix.query(NOISE, k=10)
    assert len(full) == 4
    assert [c.score for c in full] == sorted((c.score for c in full), reverse=True)
    assert ix.query(NOISE, k=0) == []


def test_time_window() -> None:
    now = datetime(2024, 6, 1, 12, tzinfo=UTC)
    ix = DuplicateIndex(window_days=90)
    ix.add("old", NOISE, now - timedelta(days=120))
    ix.add("recent", NOISE_EDITED, now - timedelta(days=10))
    ix.add("undated", NOISE_REPUNCTUATED)
    assert set(ids(ix.query(NOISE, now=now))) == {"recent", "undated"}
    assert set(ids(ix.query(NOISE, now=now - timedelta(days=60)))) == {"old", "recent", "undated"}
    # Naive datetimes are taken as UTC.
    assert set(ids(ix.query(NOISE, now=now.replace(tzinfo=None)))) == {"recent", "undated"}
    unlimited = DuplicateIndex(window_days=None)
    unlimited.add("old", NOISE, now - timedelta(days=3650))
    assert ids(unlimited.query(NOISE, now=now)) == ["old"]


def test_prune_drops_cases_outside_the_window() -> None:
    now = datetime(2024, 6, 1, tzinfo=UTC)
    ix = DuplicateIndex(window_days=30)
    ix.add_many([("old", NOISE, now - timedelta(days=40)), ("new", ROAD, now), ("undated", SCHOOL, None)])
    assert ix.prune(now) == 1
    assert "old" not in ix and len(ix) == 2


def test_query_many_equals_query(index: DuplicateIndex) -> None:
    texts = [NOISE, WATER, NOISE_EDITED, ROAD, SCHOOL, "路灯坏了"]
    now = datetime.now(UTC)
    assert index.query_many(texts, now=now, k=2) == [index.query(t, now=now, k=2) for t in texts]


def test_vectorised_and_one_by_one_scoring_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    ix = DuplicateIndex(window_days=None)
    ix.add_many([(f"n{i}", NOISE + "谢谢" * i, None) for i in range(20)] + [("road", ROAD, None)])
    few = ix.query(NOISE, k=30)
    monkeypatch.setattr(dedup, "_LOOP_MAX", 0)
    many = ix.query(NOISE, k=30)
    assert ids(few) == ids(many)
    assert np.allclose([c.score for c in few], [c.score for c in many])


def test_feature_arena_compaction_keeps_results(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dedup, "_COMPACT_MIN", 10)
    ix = DuplicateIndex()
    for round_ in range(5):
        ix.add_many([(f"r{i}", text, None) for i, text in enumerate([NOISE, ROAD, SCHOOL, WATER])])
        ix.remove("r1")
        assert ix._arena_used - ix._arena_live < max(ix._arena_live, 10), round_  # garbage never dominates
    assert ids(ix.query(NOISE)) == ["r0"] and ids(ix.query(WATER)) == ["r3"]
    assert ix.query(ROAD) == []


def test_clear(index: DuplicateIndex) -> None:
    index.clear()
    assert len(index) == 0 and index.query(NOISE) == []
    index.add("again", NOISE)
    assert ids(index.query(NOISE)) == ["again"]


def test_invalid_arguments() -> None:
    with pytest.raises(ValueError):
        DuplicateIndex(threshold=0)
    with pytest.raises(ValueError):
        DuplicateIndex(num_perm=10, bands=20)
    with pytest.raises(ValueError):
        DuplicateIndex(window_days=0)
    ix = DuplicateIndex()
    with pytest.raises(ValueError):
        ix.add("", NOISE)
    with pytest.raises(TypeError):
        ix.add("x", b"bytes")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ix.add("x", NOISE, "2024-01-01")  # type: ignore[arg-type]


def test_signatures_match_datasketch_minhash() -> None:
    """The vectorised signature is what datasketch's MinHash computes over the same shingles."""
    texts = [NOISE, ROAD, "噪音", "a", "ＡＢＣ，abc 123", "。。。"]
    sketcher = Sketcher(num_perm=48, seed=3)
    sketches = sketcher.sketch(texts)
    for i, text in enumerate(texts):
        chars, lens = _clean_codepoints([text])
        keys, _ = _shingle_keys(chars, lens)
        reference = MinHash(num_perm=48, seed=3, scheme=SCHEME, hashfunc=lambda h: h)
        reference.update_batch([int(h) for h in shingle_hash32(keys)])
        assert np.array_equal(reference.hashvalues, sketches.signatures[i]), text
        assert len(sketches.doc_features(i)) == len(set((keys & np.uint64(0xFFFF)).tolist()))


def test_batch_and_single_sketches_agree() -> None:
    texts = [NOISE, "。。。", ROAD, "噪音", SCHOOL]
    sketcher = Sketcher(num_perm=60)
    batch = sketcher.sketch(texts)
    for i, text in enumerate(texts):
        single = sketcher.sketch([text])
        assert np.array_equal(single.signatures[0], batch.signatures[i])
        assert sorted(single.doc_features(0).tolist()) == sorted(batch.doc_features(i).tolist())


def test_signatures_are_stable_across_processes() -> None:
    code = (
        "import json, sys; from triage.dedup.sketch import Sketcher; "
        "s = Sketcher(60).sketch([sys.argv[1]]); "
        "print(json.dumps([s.signatures[0].tolist(), sorted(s.doc_features(0).tolist())]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, NOISE],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "12345", "PATH": ""},
    )
    signature, features = json.loads(out.stdout)
    here = Sketcher(60).sketch([NOISE])
    assert signature == here.signatures[0].tolist()
    assert features == sorted(here.doc_features(0).tolist())


def test_fast_candidate_lookup_matches_datasketch_query(index: DuplicateIndex) -> None:
    sketches = index._sketcher.sketch([NOISE, NOISE_EDITED, WATER])
    for signature in sketches.signatures:
        lean = LeanMinHash(seed=index.seed, hashvalues=signature, scheme=SCHEME)
        assert index._lsh.candidates(signature) == set(index._lsh.query(lean))


def test_concurrent_adds_and_queries() -> None:
    ix = DuplicateIndex()
    texts = [NOISE, ROAD, SCHOOL, WATER]
    errors: list[BaseException] = []

    def writer(worker: int) -> None:
        try:
            for i in range(50):
                ix.add(f"w{worker}-{i}", texts[i % 4] + f"第{i}号")
                if i % 5 == 0:
                    ix.remove(f"w{worker}-{i}")
        except BaseException as exc:
            errors.append(exc)

    def reader() -> None:
        try:
            for i in range(100):
                for candidate in ix.query(texts[i % 4], k=3):
                    assert candidate.score >= ix.threshold
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(3)]
    threads += [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(ix) == 3 * 40


def _write_messages(path: Path, bodies: list[tuple[str, str]]) -> None:
    with (path / "messages.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "user", "title", "body", "time", "likes", "dislikes"])
        for i, (title, body) in enumerate(bodies):
            writer.writerow([i, f"u{i}", title, body, "2019-01-01 00:00:00", 0, 0])


def test_near_duplicate_benchmark_runs_on_a_small_file(tmp_path: Path) -> None:
    from training.near_duplicates import SWEEP, perturb, run

    rows = [
        ("烧烤店油烟扰民", NOISE),
        ("道路塌陷", ROAD),
        ("课后服务取消", SCHOOL),
        ("小区停水", WATER),
        ("烧烤店噪音", NOISE_EDITED),
        (
            "公交站台损坏",
            "人民公园门口的公交站台顶棚被大风吹坏了，下雨天乘客只能站在雨里等车，请公交公司尽快修复。",
        ),
        ("垃圾清运不及时", "东湖花园小区的垃圾桶已经三天没有清运，天气炎热，臭味很大，苍蝇蚊子到处都是。"),
        ("违章停车", "商业街两侧每天都有大量车辆乱停乱放，消防通道被堵死，一旦发生火灾后果不堪设想。"),
    ]
    _write_messages(tmp_path, rows)
    result = run(tmp_path, seed=5, threshold=0.6, num_perm=60, bands=20)
    assert result["messages"] == len(rows)
    assert 0.0 <= result["precision"] <= 1.0 and 0.0 <= result["recall"] <= 1.0
    assert [s["threshold"] for s in result["sweep"]] == list(SWEEP)
    assert result["queries"]["synthetic"] == result["indexed"]
    # The perturbations are reproducible and never empty the text.
    first = [perturb(random.Random(3), NOISE) for _ in range(2)]
    assert first[0] == first[1] and first[0][0].strip()


@pytest.mark.slow
@pytest.mark.shared
def test_near_duplicate_targets_on_shared_data(shared_data: Path) -> None:
    from training.near_duplicates import run

    result = run(shared_data, seed=13, threshold=0.6, num_perm=60, bands=20)
    assert result["precision"] >= 0.95
    assert result["recall"] >= 0.95
