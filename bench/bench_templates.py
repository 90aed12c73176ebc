"""A city's template wording and the copy index: what leaving the template trigrams out changes.

    python bench/bench_templates.py [--data ../shared/data/haikou12345/workorders.csv]
        [--text-col 工单标题 --text-col 诉求内容] [--examples 8] [--json]

In file order: template trigrams are learned from the earlier half
(:func:`triage.dedup.sketch.template_keys`), the earlier half is indexed, and every later order is
looked up, once in an index without templates and once in one with them. Reports per lookup: LSH
candidates (mean, median, p90), CPU time per order as a ratio to ``jieba.lcut`` on the same texts
in the same run, the share of later orders given a copy suggestion, and the recall of light edits
(the first 500 later orders are indexed too, then looked up after dropping 10 % of their
characters and appending a courtesy phrase: the copy check in this city's own wording). The
suggestions that leaving the templates out removed are sampled for inspection (``--examples``).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.bench_triage import read_rows  # noqa: E402
from triage.dedup.lexical import DuplicateIndex  # noqa: E402
from triage.dedup.sketch import template_keys  # noqa: E402
from triage.result import DuplicateCandidate  # noqa: E402
from triage.text.intake import prepare_text  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "data" / "haikou12345" / "workorders.csv"
EDITED = 500


def light_edit(text: str, rng: random.Random) -> str:
    return "".join(c for c in text if rng.random() > 0.1) + "，谢谢"


def measure(
    earlier: list[str], later: list[str], templates: list[int], seed: int
) -> tuple[dict, list[list[DuplicateCandidate]]]:
    """Figures of one index over the later orders, and what each lookup found."""
    import jieba

    index = DuplicateIndex(window_days=None, templates=templates)
    index.add_many((f"e{i}", t, None) for i, t in enumerate(earlier))
    sizes = np.array(index.candidate_counts(later))
    start = time.process_time()
    found = index.query_many(later)
    lookup = time.process_time() - start
    start = time.process_time()
    for text in later:
        jieba.lcut(text)
    reference = time.process_time() - start
    rng = random.Random(seed)
    index.add_many((f"l{i}", t, None) for i, t in enumerate(later[:EDITED]))
    edits = index.query_many([light_edit(t, rng) for t in later[:EDITED]])
    recalled = sum(any(c.case_id == f"l{i}" for c in hits) for i, hits in enumerate(edits))
    figures = {
        "templates": len(templates),
        "candidates_mean": round(float(sizes.mean()), 1),
        "candidates_p50": float(np.median(sizes)),
        "candidates_p90": float(np.percentile(sizes, 90)),
        "lookup_vs_jieba": round(lookup / reference, 3),
        "later_with_copy_suggestion": round(sum(bool(f) for f in found) / len(later), 3),
        "light_edit_recall": round(recalled / min(EDITED, len(later)), 3),
    }
    return figures, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--text-col", action="append", help="text column(s); default 工单标题, 诉求内容")
    parser.add_argument("--examples", type=int, default=8)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    texts, _ = read_rows(args.data, args.text_col or ["工单标题", "诉求内容"], [])
    texts = [prepare_text(t) for t in texts]
    earlier, later = texts[: len(texts) // 2], texts[len(texts) // 2 :]
    templates = template_keys(earlier).tolist()
    without, found_before = measure(earlier, later, [], args.seed)
    with_templates, found_after = measure(earlier, later, templates, args.seed)
    removed = [
        (i, hits[0])
        for i, (hits, now) in enumerate(zip(found_before, found_after, strict=True))
        if hits and not now
    ]
    out = {"orders": len(texts), "without_templates": without, "with_templates": with_templates,
           "suggestions_removed": len(removed)}  # fmt: skip
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
    else:
        print(json.dumps(out, ensure_ascii=False, indent=2))
    for i, hit in random.Random(args.seed).sample(removed, min(args.examples, len(removed))):
        print(f"{hit.score:.2f} | {later[i][:80]} || {earlier[int(hit.case_id[1:])][:80]}")


if __name__ == "__main__":
    main()
