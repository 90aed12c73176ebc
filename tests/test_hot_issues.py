"""Hot issues: similar records clustered (MinHash LSH + union-find), ranked by size, growth and
likes, each with a representative title; the CLI writes CSV and a self-contained HTML page."""

from __future__ import annotations

import csv
import math
from datetime import datetime, timedelta
from pathlib import Path

from triage.dedup.hot_issues import HeatWeights, HotRecord, cluster_hot_issues

T0 = datetime(2024, 5, 20, 9, 0)

# Three matters told by several citizens in their own words, plus one-off messages.
PARKING = [
    "投诉幸福里小区车位捆绑销售，开发商强制要求买房必须同时购买车位，否则不给办理交房手续。",
    "幸福里小区开发商强制捆绑销售车位，要求买房必须同时购买车位，不买就不给办理交房手续。",
    "强烈反映幸福里小区车位捆绑销售问题，开发商要求业主必须购买车位才能办理交房手续。",
    "幸福里小区车位捆绑销售，开发商强制业主买车位，不买就不给办理交房手续，请查处。",
]
ROAD = [
    "建设路与解放路交叉口的红绿灯坏了三天，早晚高峰车辆乱成一团，请交警尽快修复信号灯。",
    "解放路和建设路交叉口红绿灯坏了好几天，高峰期车辆乱成一团，希望尽快修复信号灯。",
    "建设路解放路交叉口的信号灯坏了三天没人修，早晚高峰车辆乱成一团，请尽快修复。",
]
DRAIN = [
    "暴雨后东湖花园地下车库积水半米深，排水泵一直没有启动，多辆车被泡，请物业处理。",
    "东湖花园地下车库暴雨后积水半米深，排水泵没有启动，好多车被泡了，物业不管。",
]
SINGLES = [
    "孩子今年九月上小学，户口在本区但房子是租的，请问能否就近入学？",
    "单位拖欠工资三个月，多次讨要无果，请劳动监察部门帮忙维权。",
    "我们老旧小区想加装电梯，请问需要办理哪些手续，政府有没有补贴？",
]


def records() -> list[HotRecord]:
    out: list[HotRecord] = []
    # parking: old matter (40-30 days ago), many likes
    for i, text in enumerate(PARKING):
        out.append(HotRecord(f"p{i}", text, title=text[:16], time=T0 - timedelta(days=40 - 3 * i), likes=50))
    # road: all in the last week (growing)
    for i, text in enumerate(ROAD):
        out.append(HotRecord(f"r{i}", text, title=text[:14], time=T0 - timedelta(days=i), likes=1))
    for i, text in enumerate(DRAIN):
        out.append(HotRecord(f"d{i}", text, time=T0 - timedelta(days=20 + i), category="城乡建设"))
    for i, text in enumerate(SINGLES):
        out.append(HotRecord(f"s{i}", text, time=T0 - timedelta(days=10 + i)))
    return out


def test_clusters_rank_and_describe_issues() -> None:
    issues = cluster_hot_issues(records())
    assert sorted(sorted(h.record_ids) for h in issues) == [
        ["d0", "d1"],
        ["p0", "p1", "p2", "p3"],
        ["r0", "r1", "r2"],
    ]
    assert [h.rank for h in issues] == [1, 2, 3]
    assert [h.heat for h in issues] == sorted((h.heat for h in issues), reverse=True)
    by_first = {h.record_ids[0][0]: h for h in issues}
    parking, road, drain = by_first["p"], by_first["r"], by_first["d"]
    assert parking.heat == round(4 + 0 + 0.5 * math.log(201), 3)  # size + recent + ½·ln(1 + likes)
    assert parking.size == 4 and parking.likes == 200 and parking.recent == 0
    assert road.recent == 3 and road.previous == 0 and road.growth == 4.0  # (3 + 1) / (0 + 1)
    assert parking.title in {t[:16] for t in PARKING} and parking.representative_id in parking.record_ids
    assert drain.title.startswith("暴雨后东湖花园") or drain.title.startswith(
        "东湖花园"
    )  # first line of text
    assert drain.category == "城乡建设" and drain.first_seen < drain.last_seen
    assert parking.keywords and any("车位" in k or "捆绑" in k for k in parking.keywords)
    assert parking.to_dict()["first_seen"] == "2024-04-10T09:00:00"


def test_weights_since_and_top() -> None:
    recent_first = cluster_hot_issues(records(), weights=HeatWeights(size=1.0, recent=3.0, likes=0.0))
    assert recent_first[0].representative_id.startswith("r")
    last_month = cluster_hot_issues(records(), since=T0 - timedelta(days=25))
    assert sorted(sorted(h.record_ids) for h in last_month) == [["d0", "d1"], ["r0", "r1", "r2"]]
    assert len(cluster_hot_issues(records(), top=1)) == 1
    assert cluster_hot_issues([]) == []
    singles = [HotRecord(f"s{i}", t) for i, t in enumerate(SINGLES)] + [HotRecord("bad", "   ")]
    assert cluster_hot_issues(singles) == []
    assert len(cluster_hot_issues(singles, min_size=1)) == 3  # the empty text is skipped


def test_mappings_are_accepted() -> None:
    rows = [
        {
            "id": r.id,
            "text": r.text,
            "title": r.title,
            "time": r.time.strftime("%Y/%m/%d %H:%M:%S"),
            "likes": "3",
        }
        for r in records()
    ]
    issues = cluster_hot_issues(rows)
    assert len(issues) == 3 and sorted(h.likes for h in issues) == [6, 9, 12]


def test_cli_writes_csv_and_offline_html(tmp_path: Path) -> None:
    import typer
    from typer.testing import CliRunner

    from triage.batch.cli import register

    path = tmp_path / "records.csv"
    with path.open("w", encoding="gb18030", newline="") as f:
        out = csv.writer(f)
        out.writerow(["编号", "主题", "详情", "时间", "点赞数"])
        for r in records():
            out.writerow([r.id, r.title or "", r.text, r.time.strftime("%Y/%m/%d %H:%M:%S"), r.likes])
    app = typer.Typer()
    app.command("noop")(lambda: None)
    register(app)
    args = ["batch", "hot-issues", "-i", str(path), "--text-col", "详情", "--title-col", "主题",
            "--id-col", "编号", "--time-col", "时间", "--likes-col", "点赞数",
            "-o", str(tmp_path / "hot.csv"), "--html", str(tmp_path / "hot.html"),
            "--since", "2024-04-01"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    with (tmp_path / "hot.csv").open(encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    assert sorted(r["size"] for r in rows) == ["2", "3", "4"]
    assert ["p0", "p1", "p2", "p3"] in [r["record_ids"].split() for r in rows]
    html = (tmp_path / "hot.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in html and "http" not in html.replace("http-equiv", "")
