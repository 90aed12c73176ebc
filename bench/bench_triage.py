"""Full-pipeline throughput and latency, as ratios to raw ``jieba.lcut`` in the same run.

    python bench/bench_triage.py [--data ../shared/data/tipdm2020/messages.csv] [--repeat 3] [--json]
    python bench/bench_triage.py --profile haikou --data ../shared/data/haikou12345/workorders.csv \
        --text-col 工单标题 --text-col 诉求内容 [--remove-stage duplicates] [--clock cpu]

``--profile`` (or ``--model`` / ``--routing``) selects what is measured; any file the batch reader
takes works (encoding detected). With a city bundle the columns its department model was trained
with (辖区, 镇街 …) are passed as the cases' fields when the file has them.

Reports: triage_many throughput vs jieba.lcut throughput on the same texts (target ≥ 0.8×),
single ``triage()`` latency p50/p99 (target p99 ≤ 15 ms), and cold model load time in a fresh
process (target ≤ 3 s). The duplicate index is filled with half of the texts so the duplicate
stage does real work. What is loaded (model, dictionary, index) is then frozen out of the garbage
collector's reach, as the service and the batch workers do (:mod:`triage.heap`).
Every timed triage run starts from a cold tokenizer block cache
(``block_cache_hit_rate`` is the share of text runs found within the run itself). ``--clock cpu``
times with this process's CPU time instead of the wall clock: on a shared, overloaded machine the
ratio to jieba then measures the code, not the queue.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "data" / "tipdm2020" / "messages.csv"


def read_rows(path: Path, text_cols: list[str], field_cols: list[str]) -> tuple[list[str], list[dict]]:
    """Texts (text columns joined) and the wanted field cells of every readable row."""
    from triage.tabular.files import TabularReader, join_text

    texts, fields = [], []
    with TabularReader(path) as reader:
        reader.require(text_cols)
        wanted = [c for c in field_cols if c in reader.columns]
        for record in reader:
            if record.values and (text := join_text(record.values, text_cols)):
                texts.append(text)
                fields.append({c: record.values.get(c) for c in wanted})
    return texts, fields


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def best_rate(fn, n_items: int, repeat: int, clock=time.perf_counter, setup=None) -> float:
    """Items per second of the fastest of ``repeat`` runs (least disturbed by noise).

    ``setup`` runs untimed before each run (the triage runs start from a cold block cache, so a
    repeat does not find the texts of the previous run cached)."""
    times = []
    for _ in range(repeat):
        if setup is not None:
            setup()
        start = clock()
        fn()
        times.append(clock() - start)
    return n_items / min(times)


def cold_load_seconds(env: dict[str, str]) -> float:
    code = (
        "import time; t=time.perf_counter(); from triage.pipeline import Triager; "
        "tr=Triager.load(); tr.triage('小区楼道堆放杂物堵塞消防通道'); print(time.perf_counter()-t)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO, env=env
    )
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--latency-samples", type=int, default=1000)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall", help="wall (default) or cpu time")
    parser.add_argument("--profile", help="city profile under models/ (default: the settings' profile)")
    parser.add_argument("--model", type=Path, help="bundle directory (overrides the profile's)")
    parser.add_argument("--routing", type=Path, help="routing file (overrides the profile's)")
    parser.add_argument("--text-col", action="append", help="text column(s); default title, body")
    parser.add_argument(
        "--remove-stage",
        action="append",
        default=[],
        help="measure without this pipeline stage (e.g. duplicates: the heads alone); repeatable",
    )
    args = parser.parse_args()

    import jieba

    from triage.heap import freeze_loaded_objects
    from triage.pipeline import Triager
    from triage.text.intake import prepare_text
    from triage.text.tokenizer import block_cache_info, clear_block_cache

    env = dict(os.environ)
    if args.profile:
        env["TRIAGE_PROFILE"] = args.profile
    if args.model:
        env["TRIAGE_MODEL_PATH"] = str(args.model)
    if args.routing:
        env["TRIAGE_ROUTING_PATH"] = str(args.routing)
    os.environ.update(env)  # Triager.load() reads the same settings here as in the cold-load process
    triager = Triager.load()
    for name in args.remove_stage:
        triager.remove_stage(name)
    field_cols = list(triager.bundle.metadata.get("field_columns", []))
    texts, fields = read_rows(args.data, args.text_col or ["title", "body"], field_cols)
    jieba.initialize()
    load_s = cold_load_seconds(env)
    indexed = 0
    if "duplicates" in triager.stage_names:
        index = triager.duplicate_index
        prepared = [prepare_text(t) for t in texts[: len(texts) // 2]]
        index.add_many((f"seed-{i}", t, None) for i, t in enumerate(prepared))
        indexed = len(index)
    freeze_loaded_objects()  # as the service and the batch workers do once loaded

    clock = CLOCKS[args.clock]
    triager.triage_many(texts[:200], fields=fields[:200])  # warm caches
    jieba_rate = best_rate(lambda: [jieba.lcut(t) for t in texts], len(texts), args.repeat, clock)
    triage_rate = best_rate(
        lambda: triager.triage_many(texts, fields=fields), len(texts), args.repeat, clock, clear_block_cache
    )
    block_hits, block_misses = block_cache_info()
    jieba_rate_2 = best_rate(lambda: [jieba.lcut(t) for t in texts], len(texts), args.repeat, clock)
    reference = max(jieba_rate, jieba_rate_2)  # the faster reference is the stricter one

    clear_block_cache()  # the latency texts were all triaged above
    latencies = []
    for t, f in zip(texts[: args.latency_samples], fields, strict=False):
        start = clock()
        triager.triage(t, fields=f)
        latencies.append((clock() - start) * 1000)
    latencies.sort()
    p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]  # noqa: E731

    figures = {
        "texts": len(texts),
        "indexed_cases": indexed,
        "removed_stages": args.remove_stage,
        "jieba_lcut_per_s": round(reference),
        "triage_many_per_s": round(triage_rate),
        "throughput_ratio_vs_jieba": round(triage_rate / reference, 3),
        "triage_p50_ms": round(p(0.50), 2),
        "triage_p99_ms": round(p(0.99), 2),
        "triage_mean_ms": round(statistics.mean(latencies), 2),
        "cold_load_s": round(load_s, 2),
        "model_version": triager.model_version,
        "profile": args.profile or os.environ.get("TRIAGE_PROFILE", "(settings default)"),
        "clock": args.clock,
        "block_cache_hit_rate": round(block_hits / max(block_hits + block_misses, 1), 3),
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
