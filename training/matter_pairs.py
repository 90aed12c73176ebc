"""Labelled "same matter" pairs from real messages, the scorer fitted on them, and its benchmark.

    python -m training.matter_pairs [--data ../shared/data] [--out models/matter] [--seed 5]
                                    [--pairs-out FILE] [--show N] [--json] [--copies]

Nothing from the data is committed: pairs are built here at run time, and ``--pairs-out`` writes
them only as ``(file, row id, row id, label, kind)`` references. Labels come from rules that do
*not* use the matcher's own features (no jieba, no place extractor), checked by reading samples
(``--show``); see docs/bench/dedup.md for the method and what the reading found.

TipDM (``messages.csv`` + ``replies.csv``; user ids and dates): the *subject* of a pair is the
longest common substring of the two titles (anonymised ``A市A3区`` codes removed). It names a
place when it is ≥ 4 characters and contains a place suffix (路/小区/村/广场 …). A title's
*problems* are the classes of :data:`PROBLEMS` whose keywords it contains.

* ``same``: different users, a common place subject, a common problem class, ≤ 60 days apart;
* ``place_other_problem``: a common place subject, problem classes both known and disjoint;
* ``problem_other_place``: a common problem class, both titles naming a place, no common
  substring of ≥ 3 characters, ≤ 60 days apart;
* ``months_apart``: like ``same`` but ≥ 180 days apart (a recurrence is a new matter).

Haikou (``workorders.csv``, GB18030; no caller ids — each work order is one call): ``same`` when
the normalised 诉求地址 (≥ 6 characters) and the deepest 行业分类 agree within 15 days;
``place_other_problem`` when the address agrees and 行业分类1级 differs; ``problem_other_place``
when 行业分类3级 agrees and the 镇街 differs, within 15 days.

Pairs are split by subject (place / address) into a fitting half and a test half, so test places
were never seen while fitting. The scorer is scikit-learn ``GradientBoostingClassifier`` (depth 2,
balanced weights) on :data:`triage.dedup.matter_score.FEATURES`; the default threshold is the lowest
one whose precision on the fitting half's out-of-fold scores is ≥ 0.90, or the best-F1 one when no
threshold reaches that. Test figures are
end to end: the later message of a pair is looked up
in a :class:`~triage.dedup.matter.MatterIndex` holding every message (90-day window, k = ``E2E_K``) and
the pair counts as found when the other one comes back.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import random
import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from difflib import SequenceMatcher
from itertools import combinations
from pathlib import Path

import numpy as np

from triage.config import PROJECT_ROOT
from triage.dedup.hot_issues import MATTER_THRESHOLD
from triage.dedup.matter import MatterIndex
from triage.dedup.matter_score import MatterScorer
from triage.tabular.files import parse_datetime

DEFAULT_DATA = PROJECT_ROOT.parent / "shared" / "data"
DEFAULT_OUT = PROJECT_ROOT / "models" / "matter"
# End-to-end lookups return up to this many cases: a hot matter has dozens of reports, and a pair's
# partner outside the top 5 is still found (the API shows the 5 best; any of them is the matter).
E2E_K = 50
TARGET_PRECISION = 0.90  # the default threshold is the lowest reaching this on the fitting half
GB_TREES = 200
COPY_PAIRS = 300  # edited copies among the positives (copy_pairs)
PROBLEMS = {
    "噪音": "噪音 噪声 扰民 吵 广场舞 音响",
    "油烟": "油烟 烧烤",
    "停车": "停车 车位 车库",
    "物业": "物业 业委会 物管",
    "拆迁": "拆迁 征收 征地 安置 补偿",
    "施工": "施工 工地 搅拌站 渣土",
    "排水": "排水 污水 积水 下水道 化粪池 粪",
    "垃圾": "垃圾 环境卫生 脏乱",
    "入学": "入学 学位 招生 择校 学区",
    "交通": "红绿灯 公交 交通 堵车 拥堵 斑马线",
    "产权": "房产证 产权证 不动产 办证 过户",
    "欠薪": "工资 欠薪 拖欠 社保 公积金",
    "销售": "捆绑 车位销售 售楼 开发商 延期交房 交房",
    "电梯": "电梯",
    "供水": "停水 供水 自来水 水压",
    "供电": "停电 供电 电压",
    "违建": "违建 违章 违法建筑 乱搭",
    "污染": "污染 异味 臭 粉尘",
    "道路": "道路 修路 路面 坑洼 路灯",
    "医疗": "医院 医保 看病",
}
_PROBLEM_WORDS = {cls: words.split() for cls, words in PROBLEMS.items()}
PLACE_SUFFIX = re.compile(
    r"(小区|社区|花园|花苑|家园|公寓|新村|广场|市场|大厦|学校|小学|中学|医院|公园|路|街|巷|村|桥|苑|城|府|湾|园|镇)"
)
_ANON = re.compile(r"[A-Z]\d*[市区县]|西地省|海南省|海口市|龙华区|美兰区|琼山区|秀英区|^关于|的问题$|问题$")
# Parts of a title that name no particular place: a shared subject must have >= 3 characters left.
GENERIC = re.compile(
    r"小区|社区|附近|门口|周边|对面|旁边|路口|路段|公交车?|线路|街道|物业|业主|居民|村民|学校|医院|公园|市场|"
    r"广场|项目|开发商|公司|问题|反映|投诉|咨询|请求|建议|希望|关于|[0-9一二三四五六七八九十]+|期|栋|号|路|街|巷|村|组"
)
_CUT = re.compile(r"[\s\W_]+")
FOLLOW_UP = re.compile(r"《|工单|反馈|撤销")


@dataclass(slots=True)
class Doc:
    ref: tuple[str, str]  # (file, row id)
    text: str
    title: str
    user: str
    time: datetime | None
    subject: str  # the title or address the rules compare
    problems: frozenset[str]
    fields: dict[str, str] = field(default_factory=dict)


def problems_of(title: str) -> frozenset[str]:
    return frozenset(cls for cls, words in _PROBLEM_WORDS.items() if any(w in title for w in words))


def _deepest(levels: list[str]) -> frozenset[str]:
    deep = next((x for x in reversed(levels) if x), "")
    return frozenset({f"hk:{deep}"}) if deep and deep != "其他" else frozenset()


def _clean_title(title: str) -> str:
    return _CUT.sub("", _ANON.sub("", title))


def load_docs(data: Path) -> list[Doc]:
    docs: list[Doc] = []
    for name in ("messages.csv", "replies.csv"):
        with open(data / "tipdm2020" / name, encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                title = row["title"].strip()
                docs.append(
                    Doc(
                        (f"tipdm2020/{name}", row["id"]),
                        f"{title}\n{row['body'].strip()}",
                        title,
                        row["user"],
                        parse_datetime(row["time"]),
                        _clean_title(title),
                        problems_of(title),
                    )
                )
    with open(data / "haikou12345" / "workorders.csv", encoding="gb18030", newline="") as f:
        for row in csv.DictReader(f):
            title = row["工单标题"].strip()
            if FOLLOW_UP.search(title):
                continue  # a call back about an earlier order: the same matter, the same caller
            fields = {k: row[k].strip() for k in ("诉求地址", "村居", "镇街", "辖区") if row[k].strip()}
            levels = [row[f"行业分类{i}级"].strip() for i in range(1, 5)]
            fields["_levels"] = "|".join(levels)
            docs.append(
                Doc(
                    ("haikou12345/workorders.csv", row["工单编号"]),
                    f"{title}\n{row['诉求内容'].strip()}",
                    title,
                    row["工单编号"],
                    parse_datetime(row["工单发起时间"]),
                    _clean_title(title),
                    problems_of(title) | _deepest(levels),
                    fields,
                )
            )
    return docs


def _days(a: Doc, b: Doc) -> float:
    if a.time is None or b.time is None:
        return float("nan")
    return abs((a.time - b.time).total_seconds()) / 86400.0


def _common(a: str, b: str) -> str:
    m = SequenceMatcher(None, a, b, autojunk=False).find_longest_match(0, len(a), 0, len(b))
    return a[m.a : m.a + m.size]


def label_tipdm(docs: list[Doc], rng: random.Random) -> list[tuple[int, int, int, str, str]]:
    """(i, j, label, kind, subject) by the title rules; candidates share a title 4-gram or a problem class."""
    idx = list(range(len(docs)))
    grams: dict[str, list[int]] = defaultdict(list)
    for i in idx:
        s = docs[i].subject
        for g in {s[k : k + 4] for k in range(len(s) - 3)}:
            grams[g].append(i)
    near = {(a, b) for ids in grams.values() if len(ids) <= 40 for a, b in combinations(sorted(ids), 2)}
    out = []
    for a, b in near:
        da, db = docs[a], docs[b]
        if da.text == db.text:
            continue
        sub = _common(da.subject, db.subject)
        if len(sub) < 4 or not PLACE_SUFFIX.search(sub) or len(GENERIC.sub("", sub)) < 3:
            continue
        days = _days(da, db)
        common = da.problems & db.problems
        same_window = 15 if da.ref[0].startswith("haikou") else 60
        if common and da.user != db.user and days <= same_window:
            out.append((a, b, 1, "same", sub))
        elif common and days >= 180:
            out.append((a, b, 0, "months_apart", sub))
        elif (
            da.problems
            and db.problems
            and not common
            and len(sub) < 0.7 * min(len(da.subject), len(db.subject))
        ):
            out.append((a, b, 0, "place_other_problem", sub))
    by_problem: dict[str, list[int]] = defaultdict(list)
    for i in idx:
        if docs[i].ref[0].startswith("tipdm") and PLACE_SUFFIX.search(docs[i].subject):
            for p in sorted(docs[i].problems):  # sorted: a frozenset's order changes with the hash seed
                by_problem[p].append(i)
    for p, ids in sorted(by_problem.items()):
        for _ in range(min(60, len(ids) * 2)):
            a, b = rng.sample(ids, 2) if len(ids) > 1 else (ids[0], ids[0])
            if a == b or _days(docs[a], docs[b]) > 60:
                continue
            if len(_common(docs[a].subject, docs[b].subject)) < 3:
                out.append((min(a, b), max(a, b), 0, "problem_other_place", f"{p}:{min(a, b)}"))
    return out


def label_haikou(docs: list[Doc], rng: random.Random) -> list[tuple[int, int, int, str, str]]:
    """Haikou hard negatives: the same 行业分类3级 in another 镇街 within 15 days (the title rules
    of :func:`label_tipdm` give the Haikou positives and same-place negatives)."""
    by_cat: dict[str, list[int]] = defaultdict(list)
    for i, d in enumerate(docs):
        if d.ref[0].startswith("haikou"):
            level3 = d.fields["_levels"].split("|")[2]
            if level3 and level3 != "其他":
                by_cat[level3].append(i)
    out = []
    for cat, ids in by_cat.items():
        for _ in range(min(20, len(ids))):
            a, b = rng.sample(ids, 2) if len(ids) > 1 else (ids[0], ids[0])
            fa, fb = docs[a].fields, docs[b].fields
            if (
                a != b
                and fa.get("镇街")
                and fb.get("镇街")
                and fa["镇街"] != fb["镇街"]
                and _days(docs[a], docs[b]) <= 15
                and len(_common(docs[a].subject, docs[b].subject)) < 4  # the same order filed twice
            ):
                out.append((min(a, b), max(a, b), 0, "problem_other_place", f"{cat}:{min(a, b)}"))
    return out


def _fold(subject: str) -> int:
    return int(hashlib.sha1(subject.encode()).hexdigest()[:8], 16) % 2


def build(data: Path, seed: int) -> tuple[list[Doc], list[tuple[int, int, int, str, str]]]:
    rng = random.Random(seed)
    docs = load_docs(data)
    pairs = label_tipdm(docs, rng) + label_haikou(docs, rng)
    seen, out = set(), []
    for p in sorted(pairs, key=lambda p: (p[0], p[1], -p[2])):
        if (p[0], p[1]) not in seen:
            seen.add((p[0], p[1]))
            out.append(p)
    return docs, out


def _annotate(docs: list[Doc]) -> list[dict]:
    """Category and tokens from the shipped pipeline (what the duplicate stage sees in service)."""
    from triage.pipeline import Triager

    triager = Triager.load()
    triager.remove_stage("duplicates")
    results = triager.triage_many([d.text for d in docs], skip_invalid=True)
    metas = []
    for d, r in zip(docs, results, strict=True):
        # an input the pipeline refused (skip_invalid) has no tokens and no category
        metas.append(
            {
                "tokens": [] if isinstance(r, Exception) else r.tokens,
                "category": None if isinstance(r, Exception) else (r.category or None),
                "fields": [v for k, v in d.fields.items() if not k.startswith("_")],
            }
        )
    return metas


@dataclass(slots=True)
class PairSet:
    """The labelled pairs as the scorer sees them: one feature row per pair, and how to look it up."""

    docs: list[Doc]
    pairs: list[tuple[int, int, int, str, str]]
    index: MatterIndex  # every document added, in time order
    X: np.ndarray
    y: np.ndarray
    fold: np.ndarray  # 0: fitting half, 1: test half (by subject)
    kinds: list[str]
    subjects: list[str]  # what a pair is about (its half is a hash of it)
    lookups: list[Lookup]


def featurize(data: Path, seed: int) -> PairSet:
    """Build the pairs, index every document and compute each pair's features (the later one is
    looked up, as a service would meet it)."""
    docs, pairs = build(data, seed)
    metas = _annotate(docs)
    # features only until the scorer is fitted (the shipped one may predate a change of FEATURES)
    index = MatterIndex(threshold=0.5, window_days=90, scorer=MatterScorer.hand_set())
    mdocs = [index.doc(d.text, m) for d, m in zip(docs, metas, strict=True)]
    ids = [f"{d.ref[0]}#{d.ref[1]}#{i}" for i, d in enumerate(docs)]
    # added in time order, as a service adds them (lookups read the most recent postings first)
    order = sorted(range(len(docs)), key=lambda i: docs[i].time or datetime.min)
    index.add_many((ids[i], docs[i].text, docs[i].time, _meta(mdocs[i])) for i in order)
    rows, labels, kinds, subjects, lookups = [], [], [], [], []
    for a, b, label, kind, subject in pairs:
        if (docs[a].time or datetime.min) < (docs[b].time or datetime.min):
            a, b = b, a  # look the later one up
        rows.append(index.pair_features(mdocs[a], ids[b], now=docs[a].time))
        labels.append(label)
        subjects.append(subject.split(":")[0])
        kinds.append(kind)
        lookups.append(Lookup(docs[a].text, docs[a].time, ids[a], _meta(mdocs[a]), ids[b]))
    for i, text in copy_pairs(docs, random.Random(seed)):
        md = index.doc(text, {"category": metas[i]["category"], "fields": metas[i]["fields"]})
        rows.append(index.pair_features(md, ids[i], now=docs[i].time))
        labels.append(1)
        subjects.append(docs[i].subject)
        kinds.append("copy")
        lookups.append(Lookup(text, docs[i].time, None, _meta(md), ids[i]))
    fold = np.array([_fold(s) for s in subjects])
    return PairSet(docs, pairs, index, np.array(rows), np.array(labels), fold, kinds, subjects, lookups)


def run(data: Path, seed: int, out_dir: Path | None, show: int = 0) -> dict:
    ps = featurize(data, seed)
    docs, pairs, index, X, y, fold, kinds, lookups = (
        ps.docs, ps.pairs, ps.index, ps.X, ps.y, ps.fold, ps.kinds, ps.lookups
    )  # fmt: skip
    fit = fold == 0
    model = fit_model(X[fit], y[fit])
    scorer = MatterScorer(np.zeros(X.shape[1]), 0.0, f"matter-gb-{seed}", model=model)
    # chosen on out-of-fold scores (the trees' scores on their own training pairs are optimistic),
    # over the real pairs only: the easy synthetic copies would flatter the precision
    real = np.array(kinds) != "copy"
    oof = out_of_fold(X[fit], y[fit])
    threshold = _threshold(oof[real[fit]], y[fit & real], TARGET_PRECISION)
    scorer.threshold = threshold
    index.scorer, index.threshold = scorer, threshold
    test = np.flatnonzero(~fit)
    found = np.zeros(len(y), dtype=bool)
    for j in test:
        q = lookups[j]
        got = index.query(q.text, now=q.time, k=E2E_K, exclude=q.exclude, meta=q.meta)
        found[j] = any(c.case_id == q.target for c in got)
    report = _report(y, fold, kinds, found, scorer.predict(X), threshold, len(docs))
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        import sklearn

        scorer.save(out_dir / "scorer.json", scikit_learn=sklearn.__version__, benchmark=report)
        _pr_curve(scorer.predict(X[~fit & real]), y[~fit & real], threshold, out_dir / "pr_curve.png")
    if show:
        _show(docs, pairs, show, seed)
    return report


def _new_model():
    from sklearn.ensemble import GradientBoostingClassifier

    # depth-2 trees: two features may interact (same place only counts with the same problem);
    # subsampling and few, slow steps keep them from learning the fitting half's places by heart
    return GradientBoostingClassifier(
        max_depth=2, n_estimators=GB_TREES, learning_rate=0.05, subsample=0.8, random_state=0
    )


def fit_model(X: np.ndarray, y: np.ndarray, model=None):
    """The scorer's trees (``model``: other, unfitted ones — training.matter_study); both labels
    weigh the same in total (there are fewer positives)."""
    from sklearn.utils.class_weight import compute_sample_weight

    model = _new_model() if model is None else model
    return model.fit(X, y, sample_weight=compute_sample_weight("balanced", y))


def out_of_fold(X: np.ndarray, y: np.ndarray, folds: int = 5) -> np.ndarray:
    """Each pair's score from trees fitted without it (stratified folds)."""
    from sklearn.model_selection import StratifiedKFold

    scores = np.zeros(len(y))
    for train, held in StratifiedKFold(folds, shuffle=True, random_state=0).split(X, y):
        scores[held] = fit_model(X[train], y[train]).predict_proba(X[held])[:, 1]
    return scores


@dataclass(slots=True)
class Lookup:
    """One end-to-end test: look ``text`` up and expect ``target`` back."""

    text: str
    time: datetime | None
    exclude: str | None
    meta: dict
    target: str


def copy_pairs(docs: list[Doc], rng: random.Random) -> list[tuple[int, str]]:
    """Light edits of Haikou orders (``training.near_duplicates``' edits) paired with the original.

    The labelled pairs are all different people's words, so without these the trees never see a
    copy (a caller who rings twice, a resubmitted form) and score one by its place and words alone.
    Haikou orders only: the copy benchmark (``--copies``) draws its queries from TipDM.
    """
    from training.near_duplicates import perturb

    haikou = [i for i, d in enumerate(docs) if d.ref[0].startswith("haikou")]
    return [(i, perturb(rng, docs[i].text)[0]) for i in rng.sample(haikou, min(COPY_PAIRS, len(haikou)))]


def _meta(md) -> dict:
    return {"tokens": md.tokens, "places": md.places, "category": md.category, "lead": md.lead}


def _threshold(p: np.ndarray, y: np.ndarray, precision: float) -> float:
    """The lowest threshold reaching ``precision`` on the fitting half, else the one with the best F1."""
    grid = np.round(np.arange(0.2, 0.96, 0.01), 2)
    for t in grid:
        pred = p >= t
        if pred.sum() and (y[pred] == 1).mean() >= precision:
            return float(t)
    f1 = [2 * pr * rc / (pr + rc) if pr + rc else 0.0 for pr, rc in (_pr(p >= t, y) for t in grid)]
    return float(grid[int(np.argmax(f1))])


def _pr(pred: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    tp = int((pred & (y == 1)).sum())
    return (tp / max(1, int(pred.sum()))), (tp / max(1, int((y == 1).sum())))


def _pr_dict(pred: np.ndarray, y: np.ndarray) -> dict[str, float]:
    precision, recall = _pr(pred, y)
    return {"precision": round(precision, 4), "recall": round(recall, 4)}


def _report(y, fold, kinds, found, p, threshold, n_docs) -> dict:
    """Precision and recall over the labelled pairs of real messages; the synthetic copies
    (``copy_pairs``) are only counted in ``test_by_kind``."""
    kinds = np.array(kinds)
    real = kinds != "copy"
    test, fitting = (fold == 1) & real, (fold == 0) & real
    e2e_p, e2e_r = _pr(found[test], y[test])
    pair_p, pair_r = _pr(p[test] >= threshold, y[test])
    fit_p, fit_r = _pr(p[fitting] >= threshold, y[fitting])
    by_kind = {
        k: {"pairs": int(((fold == 1) & (kinds == k)).sum()), "returned": int((found & (kinds == k)).sum())}
        for k in sorted(set(kinds.tolist()))
    }
    return {
        "documents": n_docs,
        "pairs": int(real.sum()),
        "positives": int(y[real].sum()),
        "copy_pairs": int((~real).sum()),
        "test_pairs": int(test.sum()),
        "test_positives": int(y[test].sum()),
        "threshold": threshold,
        "test_end_to_end": {"precision": round(e2e_p, 4), "recall": round(e2e_r, 4)},
        "test_scorer_only": {"precision": round(pair_p, 4), "recall": round(pair_r, 4)},
        "fit_scorer_only": {"precision": round(fit_p, 4), "recall": round(fit_r, 4)},
        # other operating points: the hot-issue link, and a stricter threshold
        "test_scorer_at": {str(t): _pr_dict(p[test] >= t, y[test]) for t in (MATTER_THRESHOLD, 0.9)},
        "test_by_kind": by_kind,  # "copy": the synthetic edited copies
    }


def _pr_curve(p: np.ndarray, y: np.ndarray, threshold: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve

    prec, rec, thr = precision_recall_curve(y, p)
    fig, ax = plt.subplots(figsize=(5, 4), dpi=100)
    ax.plot(rec, prec, label="same-matter scorer (test half)")
    at = np.searchsorted(thr, threshold)
    if at < len(thr):
        ax.scatter([rec[at]], [prec[at]], color="red", zorder=3, label=f"default threshold {threshold:.2f}")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _show(docs, pairs, n, seed) -> None:
    rng = random.Random(seed)
    by_kind = defaultdict(list)
    for p in pairs:
        by_kind[(p[3], docs[p[0]].ref[0][:6])].append(p)
    for key, ps in sorted(by_kind.items()):
        print(f"== {key} ({len(ps)})")
        for a, b, _, _, sub in rng.sample(ps, min(n, len(ps))):
            print(f"  [{sub}] {docs[a].title[:40]} || {docs[b].title[:40]}")


def copy_benchmark(data: Path, seed: int = 13) -> dict:
    """``training.near_duplicates``' copy benchmark (same queries and labels) run on the matter index."""
    from training.near_duplicates import build_queries, load_texts, score

    texts = load_texts(data / "tipdm2020")
    indexed, queries, counts = build_queries(texts, seed)
    index = MatterIndex(window_days=None)
    index.add_many((f"m{i}", texts[i], None) for i in indexed)
    answers = index.query_many([q.text for q in queries], k=5)
    result = score(queries, [[c.case_id for c in a] for a in answers])
    return {"threshold": index.threshold, "queries": len(queries), **counts, **result}


def write_pairs(docs: list[Doc], pairs, path: Path) -> None:
    """References only: (file, row id, file, row id, label, kind) — no text from the data."""
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file_a", "id_a", "file_b", "id_b", "label", "kind"])
        for a, b, label, kind, _ in pairs:
            w.writerow([*docs[a].ref, *docs[b].ref, label, kind])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--pairs-out", type=Path)
    ap.add_argument("--show", type=int, default=0, help="print N sample pairs of each kind")
    ap.add_argument("--labels-only", action="store_true", help="build and show pairs, fit nothing")
    ap.add_argument("--copies", action="store_true", help="run the copy benchmark on the matter index")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if args.copies:
        print(json.dumps(copy_benchmark(args.data), ensure_ascii=False, indent=None if args.json else 2))
        return 0
    if args.labels_only or args.pairs_out:
        docs, pairs = build(args.data, args.seed)
        if args.pairs_out:
            write_pairs(docs, pairs, args.pairs_out)
        if args.labels_only:
            _show(docs, pairs, args.show or 5, args.seed)
            return 0
    report = run(args.data, args.seed, args.out, args.show)
    print(json.dumps(report, ensure_ascii=False, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
