"""The tokenizer's segmentation against jieba's own: identical words, and how much faster.

    python bench/bench_tokenizer.py [--data FILE --text-col COL ...] [--repeat 3] [--json]

Default data: every text column of the shared TipDM files (train, dev, messages, replies) and the
Haikou export. Each text is split into runs as jieba splits it, and every run is cut twice: by
``jieba.Tokenizer.lcut(run, HMM=False)`` (the reference) and by the project's
:func:`triage.text.tokenizer._segment` (the fused dynamic programme over the same dictionary).
Reports the runs whose words differ (must be 0) and the CPU time of the reference over ours
(best of ``--repeat``, interleaved, block cache not involved).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from triage.tabular.files import TabularReader  # noqa: E402
from triage.text import tokenizer  # noqa: E402

SHARED = REPO.parent / "shared" / "data"
DEFAULT_FILES = [
    SHARED / "tipdm2020" / "train.csv",
    SHARED / "tipdm2020" / "dev.csv",
    SHARED / "tipdm2020" / "messages.csv",
    SHARED / "tipdm2020" / "replies.csv",
    SHARED / "haikou12345" / "workorders.csv",
]


def read_texts(path: Path, text_cols: list[str]) -> list[str]:
    """Cells of ``text_cols`` (default: every column) of each readable row (encoding detected)."""
    texts = []
    with TabularReader(path) as reader:
        cols = text_cols or list(reader.columns)
        reader.require(cols)
        for record in reader:
            if record.values:
                texts.extend(str(record.values[c]) for c in cols if record.values.get(c))
    return texts


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--data", type=Path, action="append", help="a CSV/XLSX file (repeatable)")
    parser.add_argument("--text-col", action="append", default=[], help="columns to read (default: all)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    texts = [t for path in args.data or DEFAULT_FILES for t in read_texts(path, args.text_col)]
    runs = [run for text in texts for run in tokenizer._BLOCKS.split(text) if run]
    jieba_cut = tokenizer.get_tokenizer().lcut
    differing = sum(jieba_cut(run, HMM=False) != tokenizer._segment(run) for run in runs)
    times: dict[str, list[float]] = {"jieba": [], "ours": []}
    for _ in range(args.repeat):
        for name, cut in (("jieba", lambda r: jieba_cut(r, HMM=False)), ("ours", tokenizer._segment)):
            start = time.process_time()
            for run in runs:
                cut(run)
            times[name].append(time.process_time() - start)
    figures = {
        "texts": len(texts),
        "runs": len(runs),
        "runs_differing": differing,
        "jieba_cpu_s": round(min(times["jieba"]), 2),
        "ours_cpu_s": round(min(times["ours"]), 2),
        "speedup_vs_jieba": round(min(times["jieba"]) / min(times["ours"]), 2),
    }
    if args.json:
        print(json.dumps(figures))
        return
    print(f"texts {figures['texts']}, runs {figures['runs']}, runs with different words: {differing}")
    print(
        f"jieba lcut {figures['jieba_cpu_s']} s, ours {figures['ours_cpu_s']} s CPU: "
        f"{figures['speedup_vs_jieba']} × faster"
    )


if __name__ == "__main__":
    main()
