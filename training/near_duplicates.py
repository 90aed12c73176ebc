"""Near-duplicate benchmark for :class:`triage.dedup.lexical.DuplicateIndex`, built at run time.

    python -m training.near_duplicates [--data DIR] [--seed 13] [--threshold 0.6]
                                       [--num-perm 60] [--bands 20] [--json]

The messages of ``messages.csv`` are split (seeded) into an indexed half and a held-out half.

* Synthetic positives: every indexed message, perturbed by 1-3 random edits (drop a sentence,
  swap two sentences, insert stock phrases, change punctuation, edit 1-3 % of the characters,
  drop the title), queried against the index; its source must come back.
* Natural positives: held-out messages that have a genuine near-duplicate among the indexed ones
  (messages.csv holds many resubmissions of the same complaint), queried as they are.
* Negatives: held-out messages unrelated to every indexed one, perturbed like the positives;
  nothing should come back.

Honest labels need a reference similarity that does not come from the index under test: the
exact binary char-trigram cosine of the original texts (scikit-learn, no hashing, no LSH).
Pairs at or above ``DUP_SIM`` (0.7) are genuine duplicates: returning either for the other is
correct. Pairs below ``UNRELATED_SIM`` (0.3) are unrelated: returning one is a false positive.
Pairs in between are mostly the same person rewriting the same complaint, sometimes two
complaints quoting the same regulation: they are ambiguous, so a returned ambiguous case is
counted neither way, and held-out messages whose best match is ambiguous are left out.

Precision is over returned (query, case) pairs; recall is the share of positive queries for
which at least one expected case is returned (top 5). "LSH recall" is the share whose expected
case was at least proposed by the LSH, i.e. the ceiling the cosine threshold can reach.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.preprocessing import normalize

from triage.dedup.lexical import DuplicateIndex
from triage.errors import InputError
from triage.text.intake import prepare_text

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO / ".." / "shared" / "data" / "tipdm2020"
DUP_SIM = 0.7
UNRELATED_SIM = 0.3
SWEEP = (0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8)

# Hand-written stock phrases and a pool of common characters for the edits.
PHRASES = (
    "恳请有关部门尽快处理。",
    "这个问题已经反映过多次了。",
    "希望领导高度重视！",
    "谢谢！",
    "此事已经持续半年之久。",
    "请相关部门给予答复。",
    "特此再次反映。",
    "望早日解决为盼。",
    "周边居民苦不堪言。",
    "我们多次打电话都没有结果。",
)
CHAR_POOL = (
    "的一是在不了有和人这中大为上个我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说"
    "产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当"
)
_SENT_RE = re.compile(r"(?<=[。！？!?；;\n])")
_PUNCT_SWAP = {"，": ",", ",": "，", "。": ".", "！": "!", "!": "！", "？": "?", "?": "？", "：": ":"}
_CLEAN_RE = re.compile(r"[\W_]+")


def _sentences(text: str) -> list[str]:
    return [s for s in _SENT_RE.split(text) if s.strip()]


def drop_sentence(rng: random.Random, text: str) -> str | None:
    """Drop one sentence (not the first line) that is at most 30 % of the message."""
    parts = _sentences(text)
    options = [i for i in range(1, len(parts)) if len(parts[i]) <= 0.3 * len(text)]
    if len(parts) < 3 or not options:
        return None
    i = rng.choice(options)
    return "".join(parts[:i] + parts[i + 1 :])


def swap_sentences(rng: random.Random, text: str) -> str | None:
    parts = _sentences(text)
    if len(parts) < 3:
        return None
    i, j = rng.sample(range(1, len(parts)), 2)
    parts[i], parts[j] = parts[j], parts[i]
    return "".join(parts)


def insert_phrases(rng: random.Random, text: str) -> str | None:
    parts = _sentences(text)
    for _ in range(rng.randint(1, 2)):
        parts.insert(rng.randint(0, len(parts)), rng.choice(PHRASES))
    return "".join(parts)


def change_punctuation(rng: random.Random, text: str) -> str | None:
    out = []
    for ch in text:
        if ch in "，,。！!？?：:；;、" and rng.random() < 0.5:
            out.append(rng.choice(["", " ", _PUNCT_SWAP.get(ch, "，"), ch + ch]))
        else:
            out.append(ch)
    return "".join(out)


def edit_chars(rng: random.Random, text: str) -> str | None:
    """Substitute, delete, insert or swap 1-3 % of the characters (typos, re-typing)."""
    chars = list(text)
    for _ in range(max(1, int(len(chars) * rng.uniform(0.01, 0.03)))):
        i, kind = rng.randrange(len(chars)), rng.random()
        if kind < 0.4:
            chars[i] = rng.choice(CHAR_POOL)
        elif kind < 0.7:
            chars[i] = ""
        elif kind < 0.85:
            chars[i] += rng.choice(CHAR_POOL)
        elif i + 1 < len(chars):
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
    return "".join(chars)


def drop_title(rng: random.Random, text: str) -> str | None:
    """Body only, when the body is at least twice as long as the title."""
    title, sep, body = text.partition("\n")
    return body if sep and len(body) >= 2 * len(title) else None


EDITS = (drop_sentence, swap_sentences, insert_phrases, change_punctuation, edit_chars, drop_title)


def perturb(rng: random.Random, text: str) -> tuple[str, list[str]]:
    """Apply 1-3 applicable edits in random order; returns the text and the edits' names."""
    wanted = rng.choice((1, 1, 2, 2, 3))
    applied: list[str] = []
    for edit in rng.sample(EDITS, len(EDITS)):
        if len(applied) == wanted:
            break
        out = edit(rng, text)
        if out and out.strip():
            text = out
            applied.append(edit.__name__)
    return text, applied


@dataclass
class Query:
    kind: str  # "synthetic" | "natural" | "negative"
    text: str
    expected: set[str] = field(default_factory=set)
    ambiguous: set[str] = field(default_factory=set)
    edits: list[str] = field(default_factory=list)


def load_texts(data_dir: Path) -> list[str]:
    texts = []
    with (data_dir / "messages.csv").open(encoding="utf-8-sig", newline="") as f:
        for row in csv.DictReader(f):
            try:
                texts.append(prepare_text(f"{row['title']}\n{row['body']}"))
            except InputError:
                continue
    return texts


def reference_similarity(texts: list[str]) -> np.ndarray:
    """Exact cosine of binary char-trigram vectors of the cleaned texts (dense, n x n)."""
    cleaned = [_CLEAN_RE.sub("", t.lower()) for t in texts]
    vectors = CountVectorizer(analyzer="char", ngram_range=(3, 3), binary=True, dtype=np.float32)
    x = normalize(vectors.fit_transform(cleaned))
    sim = (x @ x.T).toarray()
    np.fill_diagonal(sim, 0.0)
    return sim


def build_queries(texts: list[str], seed: int) -> tuple[list[int], list[Query], dict[str, int]]:
    rng = random.Random(seed)
    order = list(range(len(texts)))
    rng.shuffle(order)
    indexed, held_out = order[: len(order) // 2], order[len(order) // 2 :]
    sim = reference_similarity(texts)
    idx_arr = np.array(indexed)

    def related(i: int) -> tuple[set[str], set[str]]:
        row = sim[i, idx_arr]
        dup = {f"m{j}" for j in idx_arr[row >= DUP_SIM]}
        grey = {f"m{j}" for j in idx_arr[(row >= UNRELATED_SIM) & (row < DUP_SIM)]}
        return dup, grey

    queries: list[Query] = []
    counts = {"excluded_ambiguous": 0}
    for i in indexed:
        dup, grey = related(i)
        text, edits = perturb(rng, texts[i])
        queries.append(Query("synthetic", text, dup | {f"m{i}"}, grey, edits))
    for i in held_out:
        best = float(sim[i, idx_arr].max())
        dup, grey = related(i)
        if best >= DUP_SIM:
            queries.append(Query("natural", texts[i], dup, grey))
        elif best < UNRELATED_SIM:
            text, edits = perturb(rng, texts[i])
            queries.append(Query("negative", text, set(), set(), edits))
        else:
            counts["excluded_ambiguous"] += 1
    return indexed, queries, counts


def score(queries: list[Query], results: list[list[str]]) -> dict[str, float]:
    tp = fp = grey = 0
    found = {"synthetic": 0, "natural": 0}
    totals = {kind: sum(q.kind == kind for q in queries) for kind in ("synthetic", "natural", "negative")}
    alarms = 0
    for q, got in zip(queries, results, strict=True):
        tp += sum(c in q.expected for c in got)
        fp += sum(c not in q.expected and c not in q.ambiguous for c in got)
        grey += sum(c in q.ambiguous for c in got)
        if q.kind in found and any(c in q.expected for c in got):
            found[q.kind] += 1
        alarms += q.kind == "negative" and bool(got)
    positives = totals["synthetic"] + totals["natural"]
    return {
        "precision": tp / (tp + fp) if tp + fp else 1.0,
        "recall": (found["synthetic"] + found["natural"]) / positives if positives else 0.0,
        "recall_synthetic": found["synthetic"] / max(totals["synthetic"], 1),
        "recall_natural": found["natural"] / max(totals["natural"], 1),
        "negative_alarm_rate": alarms / max(totals["negative"], 1),
        "false_positive_pairs": fp,
        "ambiguous_pairs": grey,
    }


def run(data_dir: Path, seed: int, threshold: float, num_perm: int, bands: int) -> dict:
    texts = load_texts(data_dir)
    indexed, queries, counts = build_queries(texts, seed)
    index = DuplicateIndex(threshold=threshold, num_perm=num_perm, window_days=None, bands=bands)
    start = time.perf_counter()
    index.add_many((f"m{i}", texts[i], None) for i in indexed)
    build_s = time.perf_counter() - start

    def ask(at: float) -> list[list[str]]:
        index.threshold = at
        answers = index.query_many([q.text for q in queries], k=5)
        return [[c.case_id for c in answer] for answer in answers]

    start = time.perf_counter()
    main = score(queries, ask(threshold))
    query_ms = (time.perf_counter() - start) * 1000 / len(queries)
    lsh = score(queries, ask(1e-9))  # every LSH candidate with any trigram in common
    sweep = [{"threshold": t, **score(queries, ask(t))} for t in SWEEP]
    by_edit: dict[str, list[int]] = {}
    results = ask(threshold)
    for q, got in zip(queries, results, strict=True):
        if q.kind == "synthetic":
            for edit in q.edits:
                hit = by_edit.setdefault(edit, [0, 0])
                hit[0] += any(c in q.expected for c in got)
                hit[1] += 1
    return {
        "data": str(data_dir),
        "seed": seed,
        "threshold": threshold,
        "index": {"num_perm": index.num_perm, "bands": index.bands, "rows": index.rows},
        "messages": len(texts),
        "indexed": len(indexed),
        "queries": {
            kind: sum(q.kind == kind for q in queries) for kind in ("synthetic", "natural", "negative")
        },
        **counts,
        **main,
        "lsh_candidate_recall": lsh["recall"],
        "recall_by_edit": {edit: hit[0] / hit[1] for edit, hit in sorted(by_edit.items())},
        "sweep": sweep,
        "build_ms_per_case": build_s * 1000 / len(indexed),
        "query_ms_per_text": query_ms,
    }


def _print_report(r: dict) -> None:
    print(f"near-duplicate benchmark  seed={r['seed']}  messages={r['messages']}  indexed={r['indexed']}")
    print(f"index: num_perm={r['index']['num_perm']} bands={r['index']['bands']} rows={r['index']['rows']}")
    q = r["queries"]
    print(
        f"queries: {q['synthetic']} synthetic positives, {q['natural']} natural positives, "
        f"{q['negative']} negatives ({r['excluded_ambiguous']} ambiguous held-out messages left out)"
    )
    print(
        f"threshold {r['threshold']:.2f}: precision {r['precision']:.4f}  recall {r['recall']:.4f}  "
        f"(synthetic {r['recall_synthetic']:.4f}, natural {r['recall_natural']:.4f}; "
        f"LSH candidate recall {r['lsh_candidate_recall']:.4f}; "
        f"negatives with any match {r['negative_alarm_rate']:.4f})"
    )
    print("recall by edit: " + ", ".join(f"{k} {v:.3f}" for k, v in r["recall_by_edit"].items()))
    print("threshold  precision  recall  synthetic  natural  neg-alarm  FP-pairs  ambiguous-pairs")
    for s in r["sweep"]:
        print(
            f"{s['threshold']:9.2f}  {s['precision']:9.4f}  {s['recall']:6.4f}  {s['recall_synthetic']:9.4f}"
            f"  {s['recall_natural']:7.4f}  {s['negative_alarm_rate']:9.4f}  {s['false_positive_pairs']:8d}"
            f"  {s['ambiguous_pairs']:15d}"
        )
    print(f"build {r['build_ms_per_case']:.3f} ms/case, query {r['query_ms_per_text']:.3f} ms/text")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="directory holding messages.csv")
    parser.add_argument("--seed", type=int, default=13)
    defaults = DuplicateIndex()
    parser.add_argument("--threshold", type=float, default=defaults.threshold)
    parser.add_argument("--num-perm", type=int, default=defaults.num_perm, help="MinHash permutations")
    parser.add_argument(
        "--bands", type=int, default=defaults.bands, help="LSH bands (rows = num_perm // bands)"
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    if not (args.data / "messages.csv").is_file():
        print(f"messages.csv not found under {args.data}", file=sys.stderr)
        return 2
    result = run(args.data.resolve(), args.seed, args.threshold, args.num_perm, args.bands)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        _print_report(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
