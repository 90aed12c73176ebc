"""Hot issues from same-matter clusters: membership, place, time span and the heat formula."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import pytest

from triage.dedup.hot_issues import HotRecord, cluster_hot_issues
from triage.errors import InputError

NOW = datetime(2026, 5, 10, 20, 0)
SQUARE = [
    ("南门广场晚上广场舞噪音扰民", "南门广场每天晚上跳广场舞，音响开得很大，噪音严重扰民，请管一管。"),
    ("南门广场跳舞太吵", "南门广场那边晚上跳广场舞放音乐特别吵，噪音让人睡不着觉，孩子没法学习。"),
    ("投诉南门广场广场舞噪音", "南门广场的广场舞音响声音太大了，晚上十点还在放，噪音扰民，希望处理。"),
]
OTHER = [
    ("北门菜市场占道经营", "北门菜市场门口小贩占道经营，垃圾遍地，交通堵塞。"),
    ("幸福路路灯不亮", "幸福路的路灯坏了一个多月，晚上漆黑一片，行人不安全。"),
]


def _records() -> list[HotRecord]:
    out = []
    for n, (title, text) in enumerate(SQUARE):
        out.append(HotRecord(f"S{n}", text, title, NOW - timedelta(days=n), likes=2 * n, category="环境保护"))
    for n, (title, text) in enumerate(OTHER):
        out.append(HotRecord(f"O{n}", text, title, NOW - timedelta(days=20 + n), category="城乡建设"))
    return out


def test_reports_in_other_words_form_one_hot_issue_with_place_and_span() -> None:
    issues = cluster_hot_issues(_records(), now=NOW, growth_days=7)
    assert issues, "the three square-dance reports form a hot issue"
    top = issues[0]
    assert set(top.record_ids) == {"S0", "S1", "S2"}
    assert top.place == "南门广场"
    assert top.first_seen == NOW - timedelta(days=2) and top.last_seen == NOW
    assert top.title in {t for t, _ in SQUARE}
    # heat = size + recent + 0.5 * ln(1 + likes)
    assert top.heat == pytest.approx(3 + 3 + 0.5 * math.log1p(0 + 2 + 4), abs=1e-3)
    assert all(not set(i.record_ids) & {"O0", "O1"} for i in issues)


def test_lexical_matcher_still_available_and_bad_matcher_refused() -> None:
    assert isinstance(cluster_hot_issues(_records(), now=NOW, matcher="lexical"), list)
    with pytest.raises(InputError) as exc:
        cluster_hot_issues(_records(), matcher="fuzzy")
    assert exc.value.field == "matcher"


def test_batch_hot_issues_command_shows_place(tmp_path) -> None:
    import csv

    import typer
    from typer.testing import CliRunner

    from triage.batch.cli import register

    app = typer.Typer()
    app.command("noop")(lambda: None)
    register(app)

    path = tmp_path / "records.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "title", "body", "time", "likes", "category"])
        for r in _records():
            w.writerow([r.id, r.title, r.text, r.time.isoformat(sep=" "), r.likes, r.category])
    out = tmp_path / "hot.csv"
    args = ["batch", "hot-issues", "-i", str(path), "--text-col", "body", "--title-col", "title"]
    args += ["--id-col", "id", "--time-col", "time", "--likes-col", "likes", "--category-col", "category"]
    args += ["-o", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    with open(out, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert rows and rows[0]["place"] == "南门广场" and rows[0]["size"] == "3"


def _links(n: int, pairs: dict[tuple[int, int], float]) -> list[dict[int, float]]:
    scores: list[dict[int, float]] = [{} for _ in range(n)]
    for (a, b), s in pairs.items():
        scores[a][b] = scores[b][a] = s
    return scores


def test_star_clusters_do_not_chain_and_join_dense_stars() -> None:
    from triage.dedup.hot_issues import star_clusters

    # a chain 0–1–2–3–4, each only similar to the next: no centre links them all
    chain = star_clusters(_links(5, {(0, 1): 0.8, (1, 2): 0.8, (2, 3): 0.8, (3, 4): 0.8}))
    assert max(len(c) for c in chain) < 5
    # one matter, many reports: every pair links
    dense = {(a, b): 0.9 for a in range(4) for b in range(a + 1, 4)}
    assert sorted(map(sorted, star_clusters(_links(4, dense)))) == [[0, 1, 2, 3]]
    # two stars (centres 0 and 3) whose members mostly link across: one issue
    two = {
        (0, 1): 0.9,
        (0, 2): 0.9,
        (3, 4): 0.9,
        (3, 5): 0.9,
        (1, 4): 0.8,
        (2, 5): 0.8,
        (1, 5): 0.8,
        (2, 4): 0.8,
    }
    two |= {(1, 2): 0.8, (4, 5): 0.8, (0, 4): 0.8}
    assert sorted(map(sorted, star_clusters(_links(6, two)))) == [[0, 1, 2, 3, 4, 5]]
    # a record linked to two centres joins the one it links to most strongly
    split = star_clusters(
        _links(7, {(0, 1): 0.9, (0, 2): 0.9, (0, 3): 0.76, (4, 5): 0.9, (4, 6): 0.9, (4, 3): 0.95})
    )
    assert [3, 4, 5, 6] in map(sorted, split)


def test_lexical_hot_issues_leave_the_sets_template_wording_out() -> None:
    """Hotline orders on one template ("市民来电反映：… 请相关部门核实处理") are not one hot issue:
    only the copies of one matter are. Each order's matter is a run of characters no other order
    shares (so only the template could join them); two later orders repeat the first one's."""
    from triage.dedup.sketch import TEMPLATE_MIN_DOCS

    prefix, suffix = "市民来电反映：", "，请相关部门核实处理（请职能局按规定在30分钟内联系市民，响应处置）"
    matters = ["".join(chr(0x4E00 + 9 * i + k) for k in range(9)) for i in range(TEMPLATE_MIN_DOCS + 40)]
    records = [HotRecord(f"M{i}", f"{prefix}{m}{suffix}", None, NOW) for i, m in enumerate(matters)]
    copies = [
        HotRecord(f"C{i}", f"{prefix}{matters[0]}，已是第{i + 2}次反映{suffix}", None, NOW) for i in range(2)
    ]
    issues = cluster_hot_issues(records + copies, now=NOW, matcher="lexical")
    assert [sorted(i.record_ids) for i in issues] == [["C0", "C1", "M0"]]
