"""Full-pipeline throughput and latency, as ratios to raw ``jieba.lcut`` in the same run.

    python bench/bench_triage.py [--data ../shared/data/tipdm2020/messages.csv] [--repeat 3] [--json]

Reports: triage_many throughput vs jieba.lcut throughput on the same texts (target ≥ 0.8×),
single ``triage()`` latency p50/p99 (target p99 ≤ 15 ms), and cold model load time in a fresh
process (target ≤ 3 s). The duplicate index is filled with half of the texts so the duplicate
stage does real work.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "data" / "tipdm2020" / "messages.csv"


def read_texts(path: Path) -> list[str]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return [f"{row['title']}\n{row['body']}" for row in csv.DictReader(f)]


def best_rate(fn, n_items: int, repeat: int) -> float:
    """Items per second of the fastest of ``repeat`` runs (least disturbed by noise)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return n_items / min(times)


def cold_load_seconds() -> float:
    code = (
        "import time; t=time.perf_counter(); from triage.pipeline import Triager; "
        "tr=Triager.load(); tr.triage('小区楼道堆放杂物堵塞消防通道'); print(time.perf_counter()-t)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--latency-samples", type=int, default=1000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import jieba

    from triage.intake import prepare_text
    from triage.pipeline import Triager

    texts = read_texts(args.data)
    jieba.initialize()
    load_s = cold_load_seconds()
    triager = Triager.load()
    index = triager.duplicate_index
    prepared = [prepare_text(t) for t in texts[: len(texts) // 2]]
    index.add_many((f"seed-{i}", t, None) for i, t in enumerate(prepared))

    triager.triage_many(texts[:200])  # warm caches
    jieba_rate = best_rate(lambda: [jieba.lcut(t) for t in texts], len(texts), args.repeat)
    triage_rate = best_rate(lambda: triager.triage_many(texts), len(texts), args.repeat)
    jieba_rate_2 = best_rate(lambda: [jieba.lcut(t) for t in texts], len(texts), args.repeat)
    reference = max(jieba_rate, jieba_rate_2)  # the faster reference is the stricter one

    latencies = []
    for t in texts[: args.latency_samples]:
        start = time.perf_counter()
        triager.triage(t)
        latencies.append((time.perf_counter() - start) * 1000)
    latencies.sort()
    p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]  # noqa: E731

    figures = {
        "texts": len(texts),
        "indexed_cases": len(index),
        "jieba_lcut_per_s": round(reference),
        "triage_many_per_s": round(triage_rate),
        "throughput_ratio_vs_jieba": round(triage_rate / reference, 3),
        "triage_p50_ms": round(p(0.50), 2),
        "triage_p99_ms": round(p(0.99), 2),
        "triage_mean_ms": round(statistics.mean(latencies), 2),
        "cold_load_s": round(load_s, 2),
        "model_version": triager.model_version,
    }
    if args.json:
        print(json.dumps(figures, ensure_ascii=False))
        return
    print(f"texts: {figures['texts']}  indexed cases: {figures['indexed_cases']}")
    print(f"raw jieba.lcut:       {figures['jieba_lcut_per_s']:>8} msg/s  (reference, same run)")
    print(
        f"triage_many (all):    {figures['triage_many_per_s']:>8} msg/s  "
        f"= {figures['throughput_ratio_vs_jieba']:.2f} × jieba  (target ≥ 0.80)"
    )
    print(
        f"triage() latency:     p50 {figures['triage_p50_ms']} ms  p99 {figures['triage_p99_ms']} ms "
        "(target p99 ≤ 15 ms)"
    )
    print(f"cold load + 1st call: {figures['cold_load_s']} s (target ≤ 3 s)")


if __name__ == "__main__":
    main()
