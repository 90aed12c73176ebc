"""Within-file duplicate groups, the ordered engines and checkpoints (no model needed)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from triage.batch.checkpoint import Checkpoint, fingerprint, truncate_to
from triage.batch.dupes import FileDuplicates
from triage.batch.engine import InlineEngine, ProcessEngine, make_engine
from triage.dedup.lexical import DuplicateIndex
from triage.errors import ConfigError, InputError
from triage.text.intake import prepare_text

BASE = [
    "小区三单元楼道堆满纸箱和旧家具，消防通道被堵住，存在火灾隐患，请物业尽快清理。",
    "东门外的路灯已经坏了一个多月，晚上出行很不安全，希望有关部门尽快维修。",
    "楼下烧烤店每天营业到凌晨两点，油烟和噪音严重扰民，根本无法休息。",
    "人行道上的井盖丢失了，已经有老人差点掉进去，请相关部门马上处理。",
    "我们老旧小区想加装电梯，请问需要办理哪些手续，政府有没有补贴？",
    "暴雨后小区地下室污水倒灌，一楼住户家里全是臭水，请尽快疏通管道。",
]


def perturb(text: str, rng: random.Random) -> str:
    parts = text.rstrip("。？！").split("，")
    choice = rng.random()
    if choice < 0.3:
        return text
    if choice < 0.6:
        return "！".join(parts) + "！！"  # punctuation changed
    if choice < 0.8 and len(parts) > 2:
        del parts[rng.randrange(1, len(parts))]  # a clause dropped
        return "，".join(parts) + "。"
    return "您好，" + text + "谢谢。"  # phrases inserted


def sequential(items: list[tuple[int, str, str]], threshold: float) -> list[tuple[str, float | None]]:
    """Reference semantics, one row at a time: join the most similar earlier founder; identical
    texts share the group of their first occurrence."""
    index = DuplicateIndex(threshold=threshold, window_days=None)
    seen: dict[str, tuple[str, float | None]] = {}
    out = []
    for row, rid, text in items:
        if text in seen:
            group, score = seen[text]
            out.append((group, score or 1.0))
            continue
        found = index.query(text, k=1)
        if found:
            result = (found[0].case_id.split("|", 1)[1], round(found[0].score, 4))
        else:
            index.add(f"{row}|{rid}", text)
            result = (rid, None)
        seen[text] = result
        out.append(result)
    return out


@pytest.mark.parametrize("seed", [1, 2])
def test_groups_do_not_depend_on_chunking(seed: int) -> None:
    rng = random.Random(seed)
    texts = [prepare_text(perturb(rng.choice(BASE), rng)) for _ in range(120)]
    items = [(i + 1, f"id{i + 1}", t) for i, t in enumerate(texts)]
    want = sequential(items, 0.6)
    assert len({g for g, _ in want}) < 20  # the perturbed copies really were grouped
    for size in (1, 7, 50, 120):
        dupes = FileDuplicates(0.6)
        got = []
        for start in range(0, len(items), size):
            got += dupes.assign_many(items[start : start + size])
        assert got == want, size


def test_founders_are_bounded() -> None:
    dupes = FileDuplicates(0.6, max_groups=2)
    items = [(i + 1, f"id{i + 1}", prepare_text(t)) for i, t in enumerate(BASE)]
    assert [g for g, _ in dupes.assign_many(items)] == [f"id{i}" for i in range(1, 7)]
    assert len(dupes.index) == 2 and dupes.groups == 6
    again = dupes.assign_many([(7, "x", prepare_text(BASE[-1]))])  # still within the window
    assert again == [("id6", 1.0)]


def _square(factor: int, x: int) -> int:
    return factor * x * x


def test_engines_keep_order_and_tags() -> None:
    items = [(f"t{i}", i) for i in range(25)]
    want = [(f"t{i}", 3 * i * i) for i in range(25)]
    assert list(InlineEngine().map(_square, items, 3)) == want
    pool = make_engine("local", workers=2)
    assert isinstance(pool, ProcessEngine)
    try:
        assert list(pool.map(_square, items, 3)) == want
    finally:
        pool.close()
    with pytest.raises(ConfigError):
        make_engine("spark")
    with pytest.raises(ConfigError):
        make_engine("local", workers=0)


def test_checkpoint_roundtrip_and_mismatch(tmp_path: Path) -> None:
    data = tmp_path / "in.csv"
    data.write_text("a,b\n1,2\n", encoding="utf-8")
    fp = fingerprint(data)
    ckpt = Checkpoint("classify", fp, {"chunk_size": 5}, rows_read=3, offsets={"part": 10})
    ckpt.save(tmp_path / "c.json")
    back = Checkpoint.load(tmp_path / "c.json")
    assert back == ckpt
    back.check_matches("classify", fp, {"chunk_size": 5})
    with pytest.raises(InputError, match="chunk_size"):
        back.check_matches("classify", fp, {"chunk_size": 6})
    data.write_text("a,b\n1,3\n", encoding="utf-8")
    with pytest.raises(InputError, match="changed"):
        back.check_matches("classify", fingerprint(data), {"chunk_size": 5})
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    with pytest.raises(InputError, match="unreadable"):
        Checkpoint.load(tmp_path / "bad.json")
    part = tmp_path / "p"
    part.write_bytes(b"0123456789abc")
    truncate_to(part, 10)
    assert part.read_bytes() == b"0123456789"
    with pytest.raises(InputError):
        truncate_to(part, 20)
