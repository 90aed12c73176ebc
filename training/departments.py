"""Weak department labels from official replies, and department accuracy of routing.

``replies.csv`` holds citizen messages with the government's published reply. The reply often
says who handled the matter, in one of these forms (strongest first):

* ``signature``   — the unit signs at the end, usually just before the date ("…A7县交通运输局2014年3月27日");
* ``forwarded``   — the platform says where it sent the message ("已转交县住建局核实、办复");
* ``investigated``— the reply names the unit that checked ("经A3区学士街道调查核实");
* ``self``        — the reply speaks as its unit ("我街道…", "我镇…", "我校…"), or as "我局/我委/我中心"
  and names exactly one department of that kind elsewhere in the reply;
* ``thanks``      — the closing thanks name the field of work ("感谢您对我市交通运输事业的关心" → 交通运输局).

The last two are weak and reported separately.

The unit name is mapped to a department code with the aliases in ``routing.toml``. Replies that
name no recognisable unit (most just say "感谢您对我们工作的支持" and a date) get no label.

Run: ``python -m training.departments [--json] [--model PATH] [--write-csv PATH] [--cv 5] [--labels-only]``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from triage.route.router import Router

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT / ".." / "shared" / "data" / "tipdm2020"
METHODS = ("signature", "forwarded", "investigated", "self", "thanks")
STRONG_METHODS = ("signature", "forwarded", "investigated")
GRASSROOTS_LEVELS = ("网格", "社区", "街道")

_CN_DIGIT = "[〇○零一二三四五六七八九十]"
_DATE = (
    r"(?:\d{4}\s*[年.\-/]\s*\d{1,2}\s*[月.\-/]\s*(?:\d{1,2}\s*日?)?"
    rf"|{_CN_DIGIT}{{4}}年{_CN_DIGIT}{{1,3}}月{_CN_DIGIT}{{1,3}}日)"
)
_DATE_RE = re.compile(_DATE)
_BOILERPLATE_RE = re.compile(
    r"您的留言已收悉[!！]?我们已将您反映的问题转相关部门进行处理[,，]?敬请关注后续回复[,，]?谢谢[!！]?|_x000D_"
)
_SENTENCE_END = re.compile(r"[。！？；!?;：:，,）)】\]”\"]")
_PHONE = re.compile(r"[\d\-－—()（）]{5,}")
_NOT_A_SIGNATURE = re.compile(r"^(?:根据|依据|按照|经|由|向|请|与|和|致电|联系|咨询|详询|可到|到|在)")
_UNIT_SUFFIX = re.compile(
    r"(?:局|委员会|委|办事处|政府|中心|大队|支队|中队|所|院|站|公司|办公室|办|处|科|部|厅|集团|街道|社区|居委会|村委会"
    r"|医院|学校|中学|小学|电视台|分局|分公司)$"
)
_FORWARD_RE = re.compile(
    r"(?:已转交|转交|已转至|转至|已转给|转给|转由|交办给|已交办|交办|交由|转送|已转)"
    r"(?P<unit>[^，。！？；、,!?;\s“”\"]{2,30}?)"
    r"(?:进行|负责|调查|核实|核查|办理|办复|处理|答复|回复|落实|研究|[，。！？；,!?;]|$)"
)
_INVESTIGATED_RE = re.compile(
    r"经(?P<unit>[^，。！？；、,!?;\s“”\"]{2,25}?)(?:调查|核实|核查|了解|现场|查明|实地|检查|认真)"
)
_SELF_DIRECT = {"街道": "street", "镇": "street", "乡": "street", "社区": "community", "村委": "community"}
_SELF_DIRECT |= {"村": "community", "校": "education"}
_SELF_RE = re.compile(r"我(街道|镇|乡|社区|村委|村|校|局|委|中心)(?![长里民们])")
_THANKS_RE = re.compile(
    r"(?:感谢|谢谢)(?:您|你)?(?:一直以来)?对(?:我[市县区]|本[市县区]|[A-Z]\d{0,2}[市县区])?的?"
    r"(?P<domain>[\u4e00-\u9fff]{2,12}?)(?:工作|事业|事务)"
)


@dataclass(frozen=True, slots=True)
class UnitLabel:
    code: str
    unit: str  # the unit name as written (or the self-reference)
    method: str  # one of METHODS


class Routed(NamedTuple):
    code: str
    source: str  # rule / model / department_model / default
    level: str


def clean_reply(reply: str) -> str:
    text = _BOILERPLATE_RE.sub("", str(reply or ""))
    return re.sub(r"\s+", "", text)


def _signature(text: str, router: Router) -> UnitLabel | None:
    """The unit name written just before a date, or at the very end."""
    ends = [m.start() for m in _DATE_RE.finditer(text)] + [len(text)]
    for end in reversed(ends):
        head = text[:end]
        chunk = _SENTENCE_END.split(head)[-1] if head else ""
        chunk = _PHONE.split(chunk)[-1].strip()
        if 2 <= len(chunk) <= 40 and _UNIT_SUFFIX.search(chunk) and not _NOT_A_SIGNATURE.match(chunk):
            code = router.resolve_department(chunk)
            if code:
                return UnitLabel(code, chunk, "signature")
    return None


def _by_pattern(text: str, router: Router, pattern: re.Pattern[str], method: str) -> UnitLabel | None:
    """The one department the pattern names (ambiguous replies get no label)."""
    hits: dict[str, str] = {}
    for m in pattern.finditer(text):
        unit = m.group("unit")
        code = router.resolve_department(unit)
        if code:
            hits.setdefault(code, unit)
    if len(hits) == 1:
        code, unit = next(iter(hits.items()))
        return UnitLabel(code, unit, method)
    return None


def _self_reference(text: str, router: Router) -> UnitLabel | None:
    kinds = {m.group(1) for m in _SELF_RE.finditer(text)}
    direct = {_SELF_DIRECT[k] for k in kinds if k in _SELF_DIRECT}
    other = kinds - _SELF_DIRECT.keys()
    if len(direct) == 1 and not other:
        return UnitLabel(direct.pop(), "我" + min(kinds), "self")
    if direct or len(other) != 1:
        return None
    kind = other.pop()  # 局 / 委 / 中心: look for the one department of that kind the reply names
    codes = set()
    for alias, code in router.aliases():
        if alias.endswith(kind) and alias in text:
            codes.add(code)
    if len(codes) == 1:
        return UnitLabel(codes.pop(), "我" + kind, "self")
    return None


def _thanks(text: str, router: Router) -> UnitLabel | None:
    codes: dict[str, str] = {}
    for m in _THANKS_RE.finditer(text):
        domain = m.group("domain")
        code = router.resolve_department(domain + "局")
        if code and code not in ("street", "community", "district_gov", "city_gov"):
            codes.setdefault(code, domain)
    if len(codes) == 1:
        code, domain = next(iter(codes.items()))
        return UnitLabel(code, domain, "thanks")
    return None


def extract_unit(reply: str, router: Router) -> UnitLabel | None:
    """The department that handled a message, read from its reply, or None."""
    text = clean_reply(reply)
    if not text:
        return None
    return (
        _signature(text, router)
        or _by_pattern(text, router, _FORWARD_RE, "forwarded")
        or _by_pattern(text, router, _INVESTIGATED_RE, "investigated")
        or _self_reference(text, router)
        or _thanks(text, router)
    )


def load_replies(data_dir: Path = SHARED_DATA) -> pd.DataFrame:
    path = Path(data_dir) / "replies.csv"
    if not path.exists():
        raise SystemExit(f"replies.csv not found at {path}")
    df = pd.read_csv(path, dtype=str).fillna("")
    return df


def label_replies(df: pd.DataFrame, router: Router) -> pd.DataFrame:
    """Add ``department_code``, ``unit`` and ``method`` columns (empty where no unit was found)."""
    labels = [extract_unit(r, router) for r in df["reply"]]
    out = df.copy()
    out["department_code"] = [lb.code if lb else "" for lb in labels]
    out["unit"] = [lb.unit if lb else "" for lb in labels]
    out["method"] = [lb.method if lb else "" for lb in labels]
    return out


def message_texts(df: pd.DataFrame) -> list[str]:
    return [f"{t}\n{b}".strip() for t, b in zip(df["title"], df["body"], strict=True)]


def _grassroots(router: Router, code: str) -> bool:
    dept = router.department(code)
    return dept is not None and dept.level in GRASSROOTS_LEVELS


def evaluate(
    rows: pd.DataFrame, routed: Sequence[Routed], router: Router, methods: Sequence[str] = METHODS
) -> dict:
    """Department accuracy of ``routed`` against the weak labels of the given extraction methods.

    ``grassroots_accuracy`` counts every unit at street level or below (street office, community, grid,
    mediation, property) as one: replies are signed by the street office for matters its communities
    handled, so the weak label cannot tell those apart. ``level_agreement`` asks only whether the
    matter was kept at street level or below, as the reply shows, or sent up to a bureau.
    """
    mask = rows["method"].isin(list(methods)).to_numpy()
    gold = rows["department_code"].to_numpy()[mask]
    picked = [r for r, m in zip(routed, mask, strict=True) if m]
    n = len(picked)
    if not n:
        return {"labelled": 0}
    pred = [r.code for r in picked]
    correct = [g == p for g, p in zip(gold, pred, strict=True)]
    g_grass = [_grassroots(router, g) for g in gold]
    p_grass = [_grassroots(router, p) for p in pred]
    grass_ok = [c or (a and b) for c, a, b in zip(correct, g_grass, p_grass, strict=True)]
    level_ok = [a == (r.level in GRASSROOTS_LEVELS) for a, r in zip(g_grass, picked, strict=True)]
    per_dept: dict[str, list[bool]] = {}
    for g, c in zip(gold, correct, strict=True):
        per_dept.setdefault(g, []).append(c)
    by_source: dict[str, list[bool]] = {}
    for r, c in zip(picked, correct, strict=True):
        by_source.setdefault(r.source, []).append(c)
    majority, count = Counter(gold).most_common(1)[0]
    confusion = Counter((g, p) for g, p, c in zip(gold, pred, correct, strict=True) if not c)
    return {
        "labelled": n,
        "accuracy": _mean(correct),
        "grassroots_accuracy": _mean(grass_ok),
        "level_agreement": _mean(level_ok),
        "gold_grassroots_share": _mean(g_grass),
        "majority_baseline": {"department": majority, "accuracy": round(count / n, 3)},
        "by_route_source": {s: {"n": len(v), "accuracy": _mean(v)} for s, v in sorted(by_source.items())},
        "per_department": {
            k: {"n": len(v), "accuracy": _mean(v)}
            for k, v in sorted(per_dept.items(), key=lambda kv: -len(kv[1]))
        },
        "top_confusions": [
            {"gold": g, "predicted": p, "count": c} for (g, p), c in confusion.most_common(15)
        ],
    }


def _mean(values: Sequence[bool]) -> float:
    return round(sum(values) / len(values), 3) if values else 0.0


def coverage(labelled: pd.DataFrame) -> dict:
    found = labelled["method"] != ""
    by_method = labelled["method"].value_counts().to_dict()
    return {
        "replies": len(labelled),
        "labelled": int(found.sum()),
        "coverage": round(float(found.mean()), 3) if len(labelled) else 0.0,
        "by_method": {m: int(by_method.get(m, 0)) for m in METHODS},
        "departments": int(labelled.loc[found, "department_code"].nunique()),
    }


def triager_fn(model_path: str | None, routing_path: str | None) -> Callable[[list[str]], list[Any]]:
    """Triage texts with the full pipeline (results carry text, tokens, top_k and the route)."""
    from triage.pipeline import Triager

    triager = Triager.load(model_path, routing_path=routing_path)
    return lambda texts: triager.triage_many(texts, skip_invalid=True)


def _routed(result: Any) -> Routed:
    if isinstance(result, Exception):
        return Routed("", "invalid", "")
    return Routed(result.department_code, str(result.route_reason.get("source", "")), result.level)


def department_model_cv(
    rows: pd.DataFrame, results: Sequence[Any], router: Router, folds: int = 5
) -> list[Routed]:
    """Re-route every message with department scores from a model trained on the other folds.

    Estimates what a department model trained from the weak labels (``--write-csv``) would add:
    TF-IDF over the pipeline's tokens and logistic regression, passed to the router as
    ``department_scores`` (used when no rule matches and the model is confident).
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import KFold

    valid = [i for i, r in enumerate(results) if not isinstance(r, Exception)]
    docs = [results[i].tokens for i in valid]
    labels = rows["department_code"].to_numpy()[valid]
    out: list[Routed] = [Routed("", "invalid", "")] * len(results)
    for train, test in KFold(folds, shuffle=True, random_state=0).split(docs):
        vec = TfidfVectorizer(analyzer=lambda toks: toks, sublinear_tf=True, min_df=2)
        model = LogisticRegression(max_iter=2000, C=5.0)
        model.fit(vec.fit_transform([docs[i] for i in train]), labels[train])
        proba = model.predict_proba(vec.transform([docs[i] for i in test]))
        for j, row in zip(test, proba, strict=True):
            r = results[valid[j]]
            scores = sorted(zip(model.classes_, row, strict=True), key=lambda cs: -cs[1])[:3]
            d = router.route(r.text, r.tokens, r.top_k, [(str(c), float(p)) for c, p in scores])
            out[valid[j]] = Routed(d.department_code, str(d.reason.get("source", "")), d.level)
    return out


def route_timing(results: Sequence[Any], router: Router, repeats: int = 3) -> dict:
    """Routing cost per message next to jieba tokenisation of the same texts (best of ``repeats``)."""
    from triage.text.tokenizer import tokenize

    valid = [r for r in results if not isinstance(r, Exception)]
    best_tok = best_route = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for r in valid:
            tokenize(r.text)
        best_tok = min(best_tok, time.perf_counter() - start)
        start = time.perf_counter()
        for r in valid:
            router.route(r.text, r.tokens, r.top_k)
        best_route = min(best_route, time.perf_counter() - start)
    n = max(len(valid), 1)
    return {
        "messages": len(valid),
        "tokenize_ms": round(best_tok / n * 1e3, 4),
        "route_ms": round(best_route / n * 1e3, 4),
        "route_vs_tokenize": round(best_route / best_tok, 4) if best_tok else None,
    }


def run(args: argparse.Namespace, triage_fn: Callable[[list[str]], list[Any]] | None = None) -> dict:
    router = Router.load(args.routing)
    labelled = label_replies(load_replies(Path(args.data)), router)
    report: dict = {"coverage": coverage(labelled)}
    rows = labelled[labelled["method"] != ""].reset_index(drop=True)
    if args.write_csv:
        rows[["title", "body", "department_code"]].to_csv(args.write_csv, index=False)
        report["csv"] = {"path": str(args.write_csv), "rows": len(rows)}
    if getattr(args, "labels_only", False):
        return report
    triage_fn = triage_fn or triager_fn(args.model, args.routing)
    start = time.perf_counter()
    results = triage_fn(message_texts(rows))
    report["triage_seconds"] = round(time.perf_counter() - start, 2)
    routed = [_routed(r) for r in results]
    report["pipeline"] = {
        "all_methods": evaluate(rows, routed, router),
        "strong_methods": evaluate(rows, routed, router, STRONG_METHODS),
        "by_label_method": {m: evaluate(rows, routed, router, (m,)).get("accuracy") for m in METHODS},
    }
    report["timing"] = route_timing(results, router)
    if args.cv:
        cv = department_model_cv(rows, results, router, folds=args.cv)
        report["with_department_model_cv"] = {
            "folds": args.cv,
            "all_methods": evaluate(rows, cv, router),
            "strong_methods": evaluate(rows, cv, router, STRONG_METHODS),
        }
    return report


def _print_text(report: dict) -> None:
    cov = report["coverage"]
    print(f"replies {cov['replies']}, labelled {cov['labelled']} ({cov['coverage']:.1%}); {cov['by_method']}")
    if "csv" in report:
        print(f"wrote {report['csv']['rows']} labelled rows to {report['csv']['path']}")
    if "pipeline" not in report:
        return
    for name in ("pipeline", "with_department_model_cv"):
        for key in ("strong_methods", "all_methods"):
            ev = report.get(name, {}).get(key)
            if not ev:
                continue
            base = ev["majority_baseline"]
            print(
                f"\n[{name} / {key}] n={ev['labelled']} accuracy={ev['accuracy']} "
                f"grassroots-merged={ev['grassroots_accuracy']} level agreement={ev['level_agreement']} "
                f"(majority {base['department']}: {base['accuracy']})"
            )
            for src, v in ev["by_route_source"].items():
                print(f"  route source {src:18s} n={v['n']:5d} accuracy={v['accuracy']}")
    t = report["timing"]
    print(
        f"\nrouting {t['route_ms']} ms/message vs jieba {t['tokenize_ms']} ms ({t['route_vs_tokenize']:.1%})"
    )
    pipe = report["pipeline"]
    print(f"\naccuracy by label method: {pipe['by_label_method']}")
    print("\nper department (pipeline, all methods):")
    for code, v in pipe["all_methods"]["per_department"].items():
        print(f"  {code:18s} n={v['n']:5d} accuracy={v['accuracy']}")
    print("\ntop confusions (gold → predicted):")
    for c in pipe["all_methods"]["top_confusions"]:
        print(f"  {c['gold']:18s} → {c['predicted']:18s} {c['count']}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m training.departments", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--model", default=None, help="category model directory (default: the shipped model)")
    parser.add_argument("--routing", default=None, help="routing.toml (default: the shipped one)")
    parser.add_argument("--data", default=str(SHARED_DATA), help="directory holding replies.csv")
    parser.add_argument("--labels-only", action="store_true", help="only extract labels (no model needed)")
    parser.add_argument(
        "--write-csv", default=None, help="write the labelled (title, body, department_code) rows"
    )
    parser.add_argument(
        "--cv", type=int, default=0, help="also estimate a department model by K-fold CV (e.g. 5)"
    )
    args = parser.parse_args(argv)
    report = run(args)
    if args.json:
        json.dump(report, sys.stdout, ensure_ascii=False, indent=2)
        print()
    else:
        _print_text(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
