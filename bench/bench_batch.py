"""Batch classify: scaling, throughput against raw jieba, peak memory, kill -9 + resume.

    python bench/bench_batch.py [--rows 100000] [--rss-rows 1000000] [--skip-rss] [--json]

Builds CSV files by repeating ``messages.csv`` (title, body; fresh ids), then, in one run:

1. ``jieba.lcut`` rate over the first ``--jieba-rows`` texts of the same file, measured right
   before each classify run (the reference that run is compared with);
   plus the same loop in two processes at once over one process: the scaling ceiling the shared
   two-vCPU machine allows at that moment;
2. ``triage batch classify --workers 1`` and ``--workers 2`` end to end (wall clock of the
   command, model load included), each ``--repeat`` times; targets: workers 2 ≥ 1.8 × workers 1,
   workers 1 ≥ 0.8 × jieba;
3. peak RSS of a ``--rss-rows`` classify with ``--workers 2`` (sum over the main process and its
   workers, sampled every 0.2 s with psutil; also the largest single process and the peak per
   quarter of the run, which shows memory stays flat); target < 1 GB. ``--rss-titles-only``
   leaves the bodies empty so a million rows take minutes rather than hours on two cores;
4. a run killed with SIGKILL part-way, then ``--resume``: compared row by row with the
   uninterrupted output (same rows, no duplicates, same results).

The machine is shared: the load average is printed next to each timing.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "data" / "tipdm2020" / "messages.csv"


def read_messages(path: Path) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return [(row["title"], row["body"]) for row in csv.DictReader(f)]


def write_repeated(
    messages: list[tuple[str, str]], rows: int, path: Path, *, titles_only: bool = False
) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(["id", "title", "body"])
        for i in range(rows):
            title, body = messages[i % len(messages)]
            out.writerow([f"r{i + 1}", title, "" if titles_only else body])


def load() -> float:
    return os.getloadavg()[0]


class PeakRSS:
    """Samples the summed RSS of a process and all its descendants."""

    def __init__(self, pid: int, every: float = 0.2) -> None:
        import psutil

        self.proc = psutil.Process(pid)
        self.peak_sum = 0
        self.peak_procs = 0
        self.peak_single = 0  # the largest single process (main or one worker)
        self.peak_pss = 0  # summed proportional set size: shared pages counted once
        self.cpu: dict[int, float] = {}  # pid -> last seen user+system CPU seconds
        self.samples: list[tuple[float, int]] = []  # (seconds, summed RSS): memory must stay flat
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(every,), daemon=True)
        self._thread.start()

    def _run(self, every: float) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                procs = [self.proc, *self.proc.children(recursive=True)]
                total = pss = 0
                for p in procs:
                    with contextlib.suppress(psutil.Error):
                        rss = p.memory_info().rss
                        total += rss
                        self.peak_single = max(self.peak_single, rss)
                        pss += getattr(p.memory_full_info(), "pss", rss)
                        times = p.cpu_times()
                        self.cpu[p.pid] = times.user + times.system
                self.samples.append((time.perf_counter(), total))
                self.peak_pss = max(self.peak_pss, pss)
                if total > self.peak_sum:
                    self.peak_sum, self.peak_procs = total, len(procs)
            except psutil.Error:
                return
            self._stop.wait(every)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


EXTRA_ARGS: list[str] = []  # e.g. --model PATH, passed to every classify run


def classify_cmd(inp: Path, out: Path, workers: int, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "triage.cli", "batch", "classify", "--input", str(inp), "--output", str(out),
        "--text-col", "title", "--text-col", "body", "--id-col", "id", "--workers", str(workers), "--quiet",
        "--json", *EXTRA_ARGS, *extra,
    ]  # fmt: skip


def run_classify(inp: Path, out: Path, workers: int, *extra: str, sample_rss: bool = False) -> dict:
    start_load = load()
    start = time.perf_counter()
    proc = subprocess.Popen(
        classify_cmd(inp, out, workers, *extra), cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    sampler = PeakRSS(proc.pid) if sample_rss else None
    stdout, _ = proc.communicate()
    seconds = time.perf_counter() - start
    if sampler:
        sampler.stop()
    if proc.returncode != 0:
        raise SystemExit(f"classify failed with exit code {proc.returncode}")
    summary = json.loads(stdout.strip().splitlines()[-1])
    result = {
        "workers": workers,
        "rows": summary["rows_read"],
        "seconds": round(seconds, 2),
        "rows_per_s": round(summary["rows_read"] / seconds, 1),
        "job_rows_per_s": summary["rate"],
        "load_before": round(start_load, 2),
        "load_after": round(load(), 2),
    }
    if sampler:
        result["peak_rss_sum_mb"] = round(sampler.peak_sum / 2**20, 1)
        result["peak_pss_sum_mb"] = round(sampler.peak_pss / 2**20, 1)
        if len(sampler.samples) >= 8:  # flat memory: the last quarter peaks no higher than the second
            n = len(sampler.samples)
            quarter = [max(r for _, r in sampler.samples[i * n // 4 : (i + 1) * n // 4]) for i in range(4)]
            result["peak_rss_by_quarter_mb"] = [round(q / 2**20, 1) for q in quarter]
        result["processes"] = sampler.peak_procs
        result["largest_process_peak_rss_mb"] = round(sampler.peak_single / 2**20, 1)
        # CPU seconds of all processes (sampled, so the last 0.2 s may be missing): how much work
        # the run needed regardless of how many cores other users left it.
        result["cpu_seconds_all_processes"] = round(sum(sampler.cpu.values()), 1)
        result["main_process_cpu_s"] = summary["details"].get("main_process_cpu_s")
    return result


def jieba_rate(messages: list[tuple[str, str]], n: int) -> float:
    import jieba

    jieba.initialize()
    texts = [f"{t}\n{b}" for t, b in (messages[i % len(messages)] for i in range(n))]
    start = time.perf_counter()
    for text in texts:
        jieba.lcut(text)
    return n / (time.perf_counter() - start)


def _lcut_seconds(texts: list[str]) -> float:
    import jieba

    jieba.initialize()
    start = time.perf_counter()
    for text in texts:
        jieba.lcut(text)
    return time.perf_counter() - start


def parallel_ceiling(messages: list[tuple[str, str]], n: int) -> float:
    """Aggregate jieba rate of two processes at once over one process: the most any two-worker
    job can gain on this machine right now (2 vCPUs shared with other work)."""
    import multiprocessing as mp

    texts = [f"{t}\n{b}" for t, b in (messages[i % len(messages)] for i in range(n))]
    ctx = mp.get_context("forkserver")
    with ctx.Pool(1) as pool:
        one = pool.map(_lcut_seconds, [texts])[0]
    with ctx.Pool(2) as pool:
        two = max(pool.map(_lcut_seconds, [texts, texts]))
    return round(2 * one / two, 3)


def read_output(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


def kill_and_resume(inp: Path, reference: Path, tmp: Path, *, kill_after_rows: int) -> dict:
    """SIGKILL a classify run once its checkpoint passes ``kill_after_rows``, resume, compare."""
    out = tmp / "killed.csv"
    ckpt = tmp / "killed.csv.checkpoint.json"
    proc = subprocess.Popen(
        classify_cmd(inp, out, 2, "--chunk-size", "250"), cwd=REPO, stdout=subprocess.DEVNULL
    )
    killed_at = None
    while proc.poll() is None:
        if ckpt.exists():
            try:
                done = json.loads(ckpt.read_text())["rows_read"]
            except (ValueError, KeyError, OSError):
                done = 0
            if done >= kill_after_rows:
                time.sleep(0.3)  # land somewhere inside the next chunk
                proc.send_signal(signal.SIGKILL)
                killed_at = done
                break
        time.sleep(0.05)
    proc.wait()
    resumed = run_classify(inp, out, 2, "--chunk-size", "250", "--resume")
    got, want = read_output(out), read_output(reference)
    ids = [row[0] for row in got[1:]]
    return {
        "killed_after_checkpoint_rows": killed_at,
        "resumed_rows_read": resumed["rows"],
        "output_rows": len(got) - 1,
        "input_rows": len(want) - 1,
        "duplicate_ids": len(ids) - len(set(ids)),
        "rows_differing_from_uninterrupted": sum(1 for a, b in zip(got, want, strict=False) if a != b)
        + abs(len(got) - len(want)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--jieba-rows", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--rss-rows", type=int, default=1_000_000)
    parser.add_argument(
        "--rss-titles-only", action="store_true", help="1M-row file with empty bodies (faster)"
    )
    parser.add_argument("--skip-rss", action="store_true")
    parser.add_argument("--skip-scaling", action="store_true")
    parser.add_argument("--kill-rows", type=int, default=20_000)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--model", type=Path, default=None, help="model directory (default: the shipped one)")
    parser.add_argument("--triager-factory", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.model:
        EXTRA_ARGS.extend(["--model", str(args.model)])
    if args.triager_factory:
        EXTRA_ARGS.extend(["--triager-factory", args.triager_factory])

    messages = read_messages(args.data)
    report: dict = {"cpus": os.cpu_count(), "rows": args.rows}
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmpdir:
        tmp = Path(tmpdir)
        data = tmp / "records.csv"
        write_repeated(messages, args.rows, data)
        if not args.skip_scaling:
            report["two_process_jieba_ceiling_before"] = parallel_ceiling(messages, args.jieba_rows // 2)
            runs = []
            for _ in range(args.repeat):
                for workers in (1, 2):  # each run paired with a jieba reference measured just before it
                    reference = round(jieba_rate(messages, args.jieba_rows), 1)
                    run = run_classify(data, tmp / f"out{workers}.csv", workers, sample_rss=True)
                    run["jieba_rows_per_s_just_before"] = reference
                    run["over_jieba"] = round(run["rows_per_s"] / reference, 3)
                    runs.append(run)
                    print(json.dumps(run), file=sys.stderr)
            report["runs"] = runs
            report["two_process_jieba_ceiling_after"] = parallel_ceiling(messages, args.jieba_rows // 2)
            best = {w: max(r["rows_per_s"] for r in runs if r["workers"] == w) for w in (1, 2)}
            report["workers2_over_workers1"] = round(best[2] / best[1], 3)
            report["workers1_over_jieba"] = max(r["over_jieba"] for r in runs if r["workers"] == 1)
        kill_data = tmp / "kill.csv"
        write_repeated(messages, args.kill_rows, kill_data)
        run_classify(kill_data, tmp / "kill_ref.csv", 2, "--chunk-size", "250")
        report["kill9_resume"] = kill_and_resume(
            kill_data, tmp / "kill_ref.csv", tmp, kill_after_rows=args.kill_rows // 3
        )
        print(json.dumps(report["kill9_resume"]), file=sys.stderr)
        if not args.skip_rss:
            big = tmp / "big.csv"
            write_repeated(messages, args.rss_rows, big, titles_only=args.rss_titles_only)
            report["rss_file_mb"] = round(big.stat().st_size / 2**20, 1)
            for workers in (2,):
                report[f"rss_workers{workers}"] = run_classify(
                    big, tmp / "big_out.csv", workers, sample_rss=True
                )
                print(json.dumps(report[f"rss_workers{workers}"]), file=sys.stderr)
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        for key, value in report.items():
            print(f"{key}: {value}")


if __name__ == "__main__":
    main()
