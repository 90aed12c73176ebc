"""Duplicate-index scale benchmark: build time, memory and query latency with many indexed cases.

    python bench/bench_dedup.py [--cases 1000000] [--queries 2000] [--seed 7]
                                [--num-perm 60] [--bands 20] [--json] [--matcher lexical|matter]

``--matcher matter`` measures the same-matter index (triage/dedup/matter.py) instead: build
time, RSS per case and lookup latency (see :func:`run_matter`).

Cases are synthesised by recombining the clauses of messages.csv (a random title, then as many
random clauses as a random real message has), dated over the last 60 days, and indexed in
batches of 10,000 with ``add_many``. Clauses rather than whole sentences: with ~40,000 sentences
each would recur in ~250 of a million cases, and short cases would be verbatim copies of each
other, which real petitions are not. Queries are half near-duplicates (perturbed copies of
indexed cases, as in ``training.near_duplicates``) and half fresh recombinations.

Reports build time and resident memory (RSS growth while building), single ``query()`` latency
p50/p99 in wall-clock and CPU time (target p99 <= 10 ms at 1,000,000 cases; on a shared machine
the wall-clock tail includes time the process was not scheduled), the CPU time of a full
``gc.collect()`` (the index keeps no GC-tracked object per case, so this stays small), how
often a near-duplicate's source is found, and the per-message cost of ``query_many``
(signature + lookup + re-rank) as a ratio to ``jieba.lcut`` on the same texts in the same run
(the budget is ~0.1 of jieba).
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import re
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from training.near_duplicates import DEFAULT_DATA, load_texts, perturb  # noqa: E402
from triage.dedup.lexical import DuplicateIndex  # noqa: E402

BATCH = 10_000


def rss_mib(field: str = "VmRSS") -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


_CLAUSE_RE = re.compile(r"(?<=[，,。！？!?；;、\n])")


class Synthesiser:
    """Random recombinations of real titles and clauses with a realistic length mix."""

    def __init__(self, texts: list[str], seed: int) -> None:
        self.rng = random.Random(seed)
        self.titles: list[str] = []
        self.clauses: list[str] = []
        self.shapes: list[int] = []
        for text in texts:
            title, _, body = text.partition("\n")
            parts = [p for p in _CLAUSE_RE.split(body) if p.strip()]
            self.titles.append(title)
            self.clauses.extend(parts)
            self.shapes.append(max(1, len(parts)))

    def make(self) -> str:
        rng = self.rng
        body = "".join(rng.choices(self.clauses, k=rng.choice(self.shapes)))
        return f"{rng.choice(self.titles)}\n{body}"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def best_seconds(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def run(data_dir: Path, cases: int, queries: int, seed: int, num_perm: int, bands: int) -> dict:
    import jieba

    jieba.initialize()
    synth = Synthesiser(load_texts(data_dir), seed)
    rng = random.Random(seed + 1)
    now = datetime.now(UTC)
    keep_every = max(1, cases // max(1, queries // 2))
    kept: list[tuple[str, str]] = []  # indexed cases that near-duplicate queries are made from

    gc.collect()
    rss_before = rss_mib()
    gc_start = time.process_time()
    gc.collect()
    gc_before_ms = (time.process_time() - gc_start) * 1000
    index = DuplicateIndex(num_perm=num_perm, bands=bands)
    start = time.perf_counter()
    for first in range(0, cases, BATCH):
        batch = []
        for n in range(first, min(cases, first + BATCH)):
            text = synth.make()
            batch.append((f"case-{n}", text, now - timedelta(seconds=rng.uniform(0, 60 * 86_400))))
            if n % keep_every == 0:
                kept.append((f"case-{n}", text))
        index.add_many(batch)
    build_s = time.perf_counter() - start
    gc.collect()
    rss_after = rss_mib()
    gc_start = time.process_time()
    gc.collect()  # a full collection's CPU time: the worst GC pause the index can cause
    gc_ms = (time.process_time() - gc_start) * 1000

    near = [(case_id, perturb(rng, text)[0]) for case_id, text in kept[: queries // 2]]
    fresh = [synth.make() for _ in range(queries - len(near))]
    texts = [t for _, t in near] + fresh

    index.query_many(texts[:50])  # warm up
    latencies, cpu_times, found, candidates = [], [], 0, []
    for i, text in enumerate(texts):
        c0, t0 = time.thread_time(), time.perf_counter()
        result = index.query(text, now=now)
        latencies.append((time.perf_counter() - t0) * 1000)
        cpu_times.append((time.thread_time() - c0) * 1000)
        if i < len(near):
            found += any(c.case_id == near[i][0] for c in result)
        candidates.append(len(result))

    # LSH candidates before the cosine re-rank (diagnostic; reads the index's internals).
    sketches = index._sketcher.sketch(texts)
    proposed = [len(index._lsh.candidates(sig)) for sig in sketches.signatures]

    sample = texts[: min(len(texts), 1000)]
    jieba_s = best_seconds(lambda: [jieba.lcut(t) for t in sample])
    dedup_s = best_seconds(lambda: index.query_many(sample, now=now))
    jieba_s = min(jieba_s, best_seconds(lambda: [jieba.lcut(t) for t in sample]))
    return {
        "cases": len(index),
        "queries": len(texts),
        "near_duplicate_queries": len(near),
        "params": {"num_perm": index.num_perm, "bands": index.bands, "rows": index.rows},
        "build_s": build_s,
        "build_ms_per_case": build_s * 1000 / max(cases, 1),
        "rss_growth_mib": rss_after - rss_before,
        "rss_bytes_per_case": (rss_after - rss_before) * 2**20 / max(cases, 1),
        "rss_peak_mib": rss_mib("VmHWM"),
        "query_p50_ms": statistics.median(latencies),
        "query_p99_ms": percentile(latencies, 0.99),
        "query_max_ms": max(latencies),
        "query_cpu_p50_ms": statistics.median(cpu_times),
        "query_cpu_p99_ms": percentile(cpu_times, 0.99),
        "full_gc_cpu_ms": gc_ms,
        "full_gc_cpu_ms_before_build": gc_before_ms,
        "lsh_candidates_mean": statistics.fmean(proposed),
        "lsh_candidates_p99": percentile(proposed, 0.99),
        "near_duplicate_found": found / max(len(near), 1),
        "fresh_with_any_match": sum(1 for c in candidates[len(near) :] if c) / max(len(fresh), 1),
        "jieba_ms_per_text": jieba_s * 1000 / len(sample),
        "dedup_ms_per_text": dedup_s * 1000 / len(sample),
        "dedup_cost_vs_jieba": dedup_s / jieba_s,
    }


class MatterSynthesiser(Synthesiser):
    """:class:`Synthesiser` for the same-matter index: each title and clause is tokenised once and
    each title's places extracted once, so a million cases are built from recombined tokens."""

    def __init__(self, texts: list[str], seed: int, index) -> None:
        from triage.text.tokenizer import tokenize

        super().__init__(texts, seed)
        self.title_tokens = [tokenize(t) for t in self.titles]
        self.title_places = [index.extractor.extract(t) for t in self.titles]
        self.clause_tokens = [tokenize(c) for c in self.clauses]
        self.categories = ["城乡建设", "环境保护", "交通运输", "教育文体", "劳动和社会保障", "商贸旅游"]

    def make_meta(self) -> tuple[str, dict]:
        rng = self.rng
        t = rng.randrange(len(self.titles))
        picks = rng.choices(range(len(self.clauses)), k=rng.choice(self.shapes))
        tokens = list(self.title_tokens[t])
        for c in picks:
            tokens.extend(self.clause_tokens[c])
        text = self.titles[t] + "\n" + "".join(self.clauses[c] for c in picks)
        meta = {
            "tokens": tokens,
            "places": self.title_places[t],
            "lead": self.title_tokens[t],
            "category": rng.choice(self.categories),
        }
        return text, meta


def run_matter(data_dir: Path, cases: int, queries: int, seed: int) -> dict:
    """Build time, RSS per case and lookup latency of the same-matter index (``--matcher matter``).

    Lookups get the message's tokens and places as the pipeline's duplicate stage has them (tokens
    from the tokenize stage); the place extraction a lookup adds is timed apart (``doc_ms``).
    """
    from triage.dedup.matter import MatterIndex

    index = MatterIndex(threshold=0.5, window_days=90)
    synth = MatterSynthesiser(load_texts(data_dir), seed, index)
    rng = random.Random(seed + 1)
    now = datetime.now(UTC)
    gc.collect()
    rss_before = rss_mib()
    start = time.perf_counter()
    kept = []
    keep_every = max(1, cases // max(1, queries // 2))
    for first in range(0, cases, BATCH):
        batch = []
        for n in range(first, min(cases, first + BATCH)):
            text, meta = synth.make_meta()
            batch.append((f"case-{n}", text, now - timedelta(seconds=rng.uniform(0, 60 * 86_400)), meta))
            if n % keep_every == 0:
                kept.append(batch[-1])
        index.add_many(batch)
    build_s = time.perf_counter() - start
    gc.collect()
    rss_after = rss_mib()
    gc_start = time.process_time()
    gc.collect()
    gc_ms = (time.process_time() - gc_start) * 1000
    probes = [(cid, text, meta) for cid, text, _, meta in kept[: queries // 2]]
    probes += [(None, *synth.make_meta()) for _ in range(queries - len(probes))]
    for _, text, meta in probes[:50]:
        index.query(text, now=now, meta=meta)  # warm up
    latencies, cpu_times, found, returned = [], [], 0, []
    for cid, text, meta in probes:
        c0, t0 = time.thread_time(), time.perf_counter()
        result = index.query(text, now=now, meta=meta)
        latencies.append((time.perf_counter() - t0) * 1000)
        cpu_times.append((time.thread_time() - c0) * 1000)
        found += cid is not None and any(c.case_id == cid for c in result)
        returned.append(len(result))
    sample = [text for _, text, _ in probes[:200]]
    doc_s = best_seconds(lambda: [index.extractor.extract(t) for t in sample], repeat=1)
    return {
        "matcher": "matter",
        "cases": len(index),
        "queries": len(probes),
        "build_s": build_s,
        "rss_growth_mib": rss_after - rss_before,
        "rss_bytes_per_case": (rss_after - rss_before) * 2**20 / max(cases, 1),
        "rss_peak_mib": rss_mib("VmHWM"),
        "query_p50_ms": statistics.median(latencies),
        "query_p99_ms": percentile(latencies, 0.99),
        "query_max_ms": max(latencies),
        "query_cpu_p50_ms": statistics.median(cpu_times),
        "query_cpu_p99_ms": percentile(cpu_times, 0.99),
        "full_gc_cpu_ms": gc_ms,
        "indexed_copy_found": found / max(1, len(kept[: queries // 2])),
        "returned_mean": statistics.fmean(returned),
        "doc_ms": doc_s * 1000 / len(sample),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--num-perm", type=int, default=DuplicateIndex().num_perm)
    parser.add_argument("--bands", type=int, default=DuplicateIndex().bands)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--matcher", choices=["lexical", "matter"], default="lexical")
    args = parser.parse_args()
    if args.matcher == "matter":
        print(json.dumps(run_matter(args.data.resolve(), args.cases, args.queries, args.seed), indent=2))
        return
    r = run(args.data.resolve(), args.cases, args.queries, args.seed, args.num_perm, args.bands)
    if args.json:
        print(json.dumps(r, indent=2))
        return
    p = r["params"]
    print(f"cases {r['cases']:,}  (num_perm={p['num_perm']}, bands={p['bands']}, rows={p['rows']})")
    print(f"build {r['build_s']:.1f} s ({r['build_ms_per_case']:.3f} ms/case)")
    print(
        f"memory: RSS +{r['rss_growth_mib']:.0f} MiB while building "
        f"({r['rss_bytes_per_case']:.0f} B/case), peak RSS {r['rss_peak_mib']:.0f} MiB"
    )
    print(
        f"query latency over {r['queries']} queries: p50 {r['query_p50_ms']:.3f} ms  "
        f"p99 {r['query_p99_ms']:.3f} ms  max {r['query_max_ms']:.3f} ms  "
        f"(CPU time p50 {r['query_cpu_p50_ms']:.3f} ms, p99 {r['query_cpu_p99_ms']:.3f} ms)"
    )
    print(
        f"full gc.collect(): {r['full_gc_cpu_ms']:.0f} ms CPU after the build, "
        f"{r['full_gc_cpu_ms_before_build']:.0f} ms before it"
    )
    print(f"LSH candidates per query: mean {r['lsh_candidates_mean']:.2f}, p99 {r['lsh_candidates_p99']}")
    print(
        f"near-duplicates found {r['near_duplicate_found']:.4f}; "
        f"fresh texts with any match {r['fresh_with_any_match']:.4f}"
    )
    print(
        f"batch cost per message: dedup {r['dedup_ms_per_text']:.3f} ms vs jieba.lcut "
        f"{r['jieba_ms_per_text']:.3f} ms = {r['dedup_cost_vs_jieba']:.3f}x"
    )


if __name__ == "__main__":
    main()
