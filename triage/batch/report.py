"""``triage batch report``: what a reclassify run changed, as HTML (with a chart) and CSV.

Reads the job's rows in ``case_suggestions``: counts per (old suggestion → new suggestion)
category pair, the net shift per category as a bar chart, and the changed cases with links
to their pages (``link_base`` + case number). Reviewed cases whose decision now disagrees
with the model are marked for re-review.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import col, select

from triage.batch.charts import bar_chart, render
from triage.errors import InputError
from triage.store.db import Database
from triage.store.models import BatchJob, CaseSuggestion
from triage.tabular.cells import csv_escape

NONE = "(none)"
CASE_COLUMNS = [
    "case_no", "link", "status", "old_category", "new_category", "old_confidence", "new_confidence",
    "decision_category", "flagged", "applied", "old_model_version", "new_model_version",
]  # fmt: skip

TEMPLATE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<title>Reclassification report {{ job.id }}</title><style>{{ css }}</style></head><body>
<h1>Reclassification report</h1>
<p class="meta">Job {{ job.id }} · model {{ job.model_version }} · {{ job.status }} ·
{{ job.created_at.strftime('%Y-%m-%d %H:%M') }} UTC</p>
<p>{{ r.total }} cases reclassified · <b>{{ r.changed }}</b> changed category ·
{{ r.applied }} unreviewed cases got the new suggestion ·
<span class="flag">{{ r.flagged }}</span> reviewed cases now disagree (flagged for re-review)</p>
<h2>Shift per category</h2>
{% if chart %}<img alt="cases per category before and after"
src="data:image/png;base64,{{ chart }}">{% endif %}
<table><tr><th>Category</th><th class="n">Before</th><th class="n">After</th><th class="n">Shift</th></tr>
{% for cat, b, a in r.shift %}<tr>
<td>{% if code_of.get(cat) %}{{ code_of[cat] }} · {% endif %}{{ cat }}</td>
<td class="n">{{ b }}</td><td class="n">{{ a }}</td>
<td class="n">{{ "%+d"|format(a - b) }}</td></tr>{% endfor %}</table>
<h2>Old → new category</h2>
<table><tr><th>Old suggestion</th><th>New suggestion</th><th class="n">Cases</th></tr>
{% for (old, new), n in r.pairs %}<tr><td>{{ old }}</td><td>{{ new }}</td><td class="n">{{ n }}</td></tr>
{% endfor %}
</table>
<h2>Changed and flagged cases{% if r.listed > r.cases|length %} (first {{ r.cases|length }} of
{{ r.listed }}; all are in the CSV){% endif %}</h2>
<table><tr><th>Case</th><th>Status</th><th>Old</th><th>New</th><th class="n">Confidence</th>
<th>Decision</th></tr>
{% for c in r.cases %}<tr><td><a href="{{ c.link }}">{{ c.case_no }}</a></td><td>{{ c.status }}</td>
<td>{{ c.old_category }}</td><td>{{ c.new_category }}</td>
<td class="n">{{ "%.2f"|format(c.new_confidence) }}</td>
<td>{% if c.decision_category %}{{ c.decision_category }}{% if c.flagged %}
<span class="flag">re-review</span>{% endif %}{% endif %}</td></tr>{% endfor %}
</table></body></html>
"""


@dataclass(slots=True)
class ChangeReport:
    job_id: str
    total: int = 0
    changed: int = 0
    applied: int = 0
    flagged: int = 0
    listed: int = 0  # changed or flagged: the rows of the CSV
    pairs: list[tuple[tuple[str, str], int]] = field(default_factory=list)
    shift: list[tuple[str, int, int]] = field(default_factory=list)  # category, before, after
    cases: list[dict[str, object]] = field(default_factory=list)  # changed or flagged, capped for HTML
    outputs: dict[str, str] = field(default_factory=dict)


def latest_reclassify_job(db: Database) -> BatchJob:
    with db.session() as session:
        job = session.exec(
            select(BatchJob).where(BatchJob.kind == "reclassify").order_by(col(BatchJob.created_at).desc())
        ).first()
    if job is None:
        raise InputError(
            "no reclassify job in this database; run `triage batch reclassify` first", code="no_job"
        )
    return job


def build_change_report(
    db: Database,
    output: Path,
    *,
    job_id: str | None = None,
    csv_path: Path | None = None,
    link_base: str = "/cases/",
    max_html_rows: int = 2000,
) -> ChangeReport:
    """Write the HTML report to ``output`` and the changed cases to CSV; return the figures."""
    if job_id:
        with db.session() as session:
            job = session.get(BatchJob, job_id)
        if job is None or job.kind != "reclassify":
            raise InputError(f"no reclassify job {job_id!r}", code="no_job")
    else:
        job = latest_reclassify_job(db)
    report = ChangeReport(job.id)
    pairs: Counter[tuple[str, str]] = Counter()
    before: Counter[str] = Counter()
    after: Counter[str] = Counter()
    csv_path = csv_path or output.with_suffix(".csv")
    output.parent.mkdir(parents=True, exist_ok=True)
    with csv_path.open("w", encoding="utf-8-sig", newline="") as f, db.session() as session:
        writer = csv.DictWriter(f, CASE_COLUMNS)
        writer.writeheader()
        rows = session.exec(
            select(CaseSuggestion).where(CaseSuggestion.job_id == job.id).order_by(col(CaseSuggestion.id))
        )
        for s in rows:
            old, new = s.previous_category or NONE, s.category or NONE
            report.total += 1
            report.applied += s.applied
            report.flagged += s.flagged
            before[old] += 1
            after[new] += 1
            if not (s.changed or s.flagged):
                continue
            pairs[(old, new)] += s.changed
            report.changed += s.changed
            report.listed += 1
            row: dict[str, object] = {
                "case_no": s.case_no, "link": f"{link_base}{s.case_no}", "status": s.case_status,
                "old_category": old, "new_category": new, "old_confidence": s.previous_confidence,
                "new_confidence": s.confidence, "decision_category": s.decision_category or "",
                "flagged": s.flagged, "applied": s.applied,
                "old_model_version": s.previous_model_version or "", "new_model_version": s.model_version,
            }  # fmt: skip
            # category names come from imported files: never a live formula
            writer.writerow({k: csv_escape(v) if isinstance(v, str) else v for k, v in row.items()})
            if len(report.cases) < max_html_rows:
                report.cases.append(row)
    report.pairs = [(k, v) for k, v in pairs.most_common() if v]
    cats = sorted(set(before) | set(after), key=lambda c: (-abs(after[c] - before[c]), -after[c], c))
    report.shift = [(c, before[c], after[c]) for c in cats]
    chart, legend = "", dict[str, str]()  # no chart without categories
    top = [c for c in cats[:20]]
    if top:
        chart, legend = bar_chart(
            top,
            {"before": [before[c] for c in top], "after": [after[c] for c in top]},
            title="Cases per category before and after reclassification",
            xlabel="cases",
        )
    code_of = {name: code for code, name in legend.items()}  # chart codes, shown in the shift table
    output.write_text(render(TEMPLATE, job=job, r=report, chart=chart, code_of=code_of), encoding="utf-8")
    report.outputs = {"html": str(output), "csv": str(csv_path)}
    return report


def flagged_for_rereview(
    db: Database, *, job_id: str | None = None, limit: int = 500
) -> list[CaseSuggestion]:
    """Every flag one reclassify job raised (latest job by default), answered or not; the open
    re-review list that reviewers work through is :func:`triage.store.rereview.open_flags`."""
    job_id = job_id or latest_reclassify_job(db).id
    with db.session() as session:
        stmt = (
            select(CaseSuggestion)
            .where(CaseSuggestion.job_id == job_id, col(CaseSuggestion.flagged).is_(True))
            .order_by(col(CaseSuggestion.id))
            .limit(limit)
        )
        return list(session.exec(stmt))
