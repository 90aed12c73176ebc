"""The learning loop on the Haikou export: train, let reviewers correct through the store, retrain.

The export is in time order. It is cut into three slices that never overlap:

* **history** — the first half: what the city has when it onboards; model M1 is trained on it;
* **stream** — the next 30 %: orders submitted as cases to a store serving M1; "reviewers" accept
  the suggestion when it matches the order's recorded category and unit, and correct it to them
  otherwise (orders never dispatched, with an empty unit, are left in the queue);
* **latest** — the last 20 %: never trained on; both models are scored on it.

``triage export-training`` writes the reviewed stream; M2 is trained on history + that export with
the same options as M1. M2 is registered and run in shadow while the latest orders are submitted and
reviewed, so ``triage models compare`` scores both against the reviewers' decisions; ``triage
evaluate --json`` scores both on the latest slice as a file. Everything goes through the CLI and the
case service as an operator would use them; the work directory holds every intermediate file.

    python bench/learning_loop.py --work /tmp/loop      # ~6-10 min on 2 cores; JSON on stdout
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DATA = (REPO / ".." / "shared" / "data" / "haikou12345" / "workorders.csv").resolve()
sys.path.insert(0, str(REPO))

CATCH_ALLS = ("其他单位", "省级单位", "除海口外的市县", "省外单位")
NOT_A_DEPARTMENT = [arg for unit in CATCH_ALLS for arg in ("--not-a-department", unit)]
TRAIN_FLAGS = ["--text-col", "text", "--label-col", "label", "--department-col", "department"]
TRAIN_FLAGS += [*NOT_A_DEPARTMENT, "--no-baseline"]
ORIGINAL_TEXT = ["--text-col", "工单标题", "--text-col", "诉求内容"]


def triage_cli(*args: str) -> str:
    """Run ``triage ARGS`` as a user would; the output, or the error with the command."""
    cmd = [sys.executable, "-c", "from triage.cli import main; main()", *args]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"triage {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def load_orders(path: Path) -> list[dict[str, str]]:
    """The export's rows in time order, repeated work-order numbers dropped."""
    from triage.tabular.files import TabularReader, cell_text

    rows, seen = [], set()
    with TabularReader(path) as reader:
        for record in reader:
            if record.values is None:
                continue
            row = {k: cell_text(v).strip() for k, v in record.values.items()}
            if row.get("工单编号") in seen:
                continue
            seen.add(row.get("工单编号"))
            rows.append(row)
    return rows


def as_training_rows(orders: list[dict[str, str]]) -> list[dict[str, str]]:
    """History in the export's column layout (text,label,department), so M1 and M2 read the same."""
    return [
        {
            "text": " ".join(f"{o['工单标题']} {o['诉求内容']}".split()),
            "label": o["行业分类1级"],
            "department": o["处置单位"],
        }
        for o in orders
    ]


def write_csv(path: Path, rows: list[dict[str, str]], columns: list[str] | None = None) -> Path:
    columns = columns or list(rows[0])
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def review(service: Any, orders: list[dict[str, str]], reviewer: str) -> dict[str, int]:
    """Submit orders as cases; accept or correct each to the order's recorded category and unit."""
    from triage.route.config import department_code
    from triage.store.errors import ValidationError

    items = [
        {
            "title": o["工单标题"] or None,
            "text": o["诉求内容"] or o["工单标题"],
            "street": o.get("镇街") or None,
            "community": o.get("村居") or None,
            "address": (o.get("诉求地址") or "")[:256] or None,
        }
        for o in orders
    ]
    counts = {"submitted": 0, "accepted": 0, "corrected": 0, "left_in_queue": 0, "invalid": 0}
    for start in range(0, len(items), 200):
        cases = service.submit_many(items[start : start + 200], actor="operator")
        for case, order in zip(cases, orders[start : start + 200], strict=True):
            if not hasattr(case, "case_no"):
                counts["invalid"] += 1
                continue
            counts["submitted"] += 1
            unit, category = order["处置单位"], order["行业分类1级"]
            if not unit or not category:
                counts["left_in_queue"] += 1
                continue
            code = department_code(unit)
            try:
                if case.suggested_category == category and case.suggested_department_code == code:
                    service.accept(case.case_no, reviewer)
                    counts["accepted"] += 1
                else:
                    service.correct(case.case_no, reviewer, category=category, department_code=code)
                    counts["corrected"] += 1
            except ValidationError:  # a category or unit the routing file does not know
                counts["left_in_queue"] += 1
    return counts


def evaluate(model: Path, latest: Path) -> dict[str, Any]:
    args = ["evaluate", "--model", str(model), "--data", str(latest), *ORIGINAL_TEXT]
    args += ["--label-col", "行业分类1级", "--department-col", "处置单位", *NOT_A_DEPARTMENT, "--json"]
    return json.loads(triage_cli(*args))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--work", type=Path, required=True, help="Directory for every intermediate file.")
    parser.add_argument("--history", type=float, default=0.5, help="Fraction trained on first.")
    parser.add_argument("--latest", type=float, default=0.2, help="Latest fraction scored, never trained on.")
    args = parser.parse_args()
    from triage.config import Settings
    from triage.pipeline import Triager
    from triage.store import model_registry as registry
    from triage.store.db import Database
    from triage.store.service import CaseService
    from triage.store.shadow import ShadowRunner

    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    orders = load_orders(args.data)
    n = len(orders)
    cut1, cut2 = int(n * args.history), int(n * (1 - args.latest))
    history, stream, latest = orders[:cut1], orders[cut1:cut2], orders[cut2:]
    latest_csv = write_csv(work / "latest.csv", latest)
    write_csv(work / "history.csv", as_training_rows(history))
    # the city's unit list: every unit of history and stream (reviewers may route to any of them)
    known = write_csv(work / "known_units.csv", as_training_rows(history + stream))
    routing = work / "routing.toml"
    unit_args = ["--data", str(known), "--department-col", "department", "--label-col", "label"]
    triage_cli("profiles", "routing", *unit_args, "--out", str(routing), "--force")

    t = time.perf_counter()
    triage_cli("train", "--data", str(work / "history.csv"), *TRAIN_FLAGS, "--out", str(work / "m1"))
    timings["train_m1_s"] = round(time.perf_counter() - t, 1)

    db_url = f"sqlite:///{work / 'loop.db'}"
    (work / "loop.db").unlink(missing_ok=True)
    db = Database(db_url)
    db.upgrade()
    settings = Settings(database_url=db_url, model_path=work / "m1", routing_path=routing)
    m1 = registry.register(db, work / "m1", profile="haikou", actor="onboarding")
    registry.promote(db, "haikou", m1.version, actor="onboarding", note="trained on the first half")
    live = Triager.load(work / "m1", routing_path=routing, settings=settings)
    t = time.perf_counter()
    stream_counts = review(CaseService(db, live, settings=settings), stream, "reviewer")
    timings["stream_review_s"] = round(time.perf_counter() - t, 1)

    reviewed = work / "reviewed.csv"
    triage_cli("export-training", "--out", str(reviewed), "--database-url", db_url)
    from triage.tabular.files import TabularReader

    with TabularReader(reviewed) as reader:
        exported = [r.values for r in reader if r.values is not None]
    combined = as_training_rows(history) + [
        {"text": e["text"], "label": e["label"], "department": e["department"]} for e in exported
    ]
    write_csv(work / "history_plus_reviewed.csv", combined)
    t = time.perf_counter()
    triage_cli(
        "train", "--data", str(work / "history_plus_reviewed.csv"), *TRAIN_FLAGS, "--out", str(work / "m2")
    )
    timings["train_m2_s"] = round(time.perf_counter() - t, 1)

    # M2 in shadow while the latest orders arrive and are reviewed; then compare and promote
    m2 = registry.register(db, work / "m2", profile="haikou", actor="onboarding")
    registry.start_shadow(db, "haikou", m2.version, actor="onboarding")
    shadow = ShadowRunner.load(db, "haikou", settings)
    live = Triager.load(work / "m1", routing_path=routing, settings=settings)
    latest_counts = review(CaseService(db, live, settings=settings, shadow=shadow), latest, "reviewer")
    compared = json.loads(
        triage_cli("models", "compare", "--profile", "haikou", "--database-url", db_url, "--json")
    )
    promote = ["models", "promote", m2.version, "--profile", "haikou", "--database-url", db_url]
    triage_cli(*promote, "--actor", "onboarding", "--note", "retrained with reviewers' corrections")

    figures = {"m1": evaluate(work / "m1", latest_csv), "m2": evaluate(work / "m2", latest_csv)}
    summary = {
        "rows": {"history": len(history), "stream": len(stream), "latest": len(latest)},
        "stream_review": stream_counts,
        "exported": len(exported),
        "latest_review": latest_counts,
        "compare": compared,
        "evaluate_latest": {
            name: {
                "category_accuracy": f["accuracy"],
                "category_macro_f1": f["macro_f1"],
                "department": f["department"],
            }
            for name, f in figures.items()
        },
        "models": {"m1": m1.version, "m2": m2.version},
        "timings": timings,
    }
    json.dump(summary, sys.stdout, ensure_ascii=False, indent=2)
    print()


if __name__ == "__main__":
    main()
