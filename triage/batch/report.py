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

from triage.batch.charts import bar_chart, cjk_font, render
from triage.config import get_settings
from triage.errors import InputError
from triage.store.db import Database
from triage.store.display import STATUS_LABELS
from triage.store.models import BatchJob, CaseSuggestion
from triage.tabular.cells import csv_escape

NONE = "(none)"
CASE_COLUMNS = [
    "case_no", "link", "status", "old_category", "new_category", "old_confidence", "new_confidence",
    "decision_category", "flagged", "applied", "old_model_version", "new_model_version",
]  # fmt: skip

TEMPLATE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<title>重新分类报告 {{ job.id }}</title><style>{{ css }}</style></head><body>
<h1>重新分类报告</h1>
<p class="meta">任务 {{ job.id }} · 模型 {{ job.model_version }} · {{ job_status }} ·
{{ job.created_at.strftime('%Y-%m-%d %H:%M') }}（UTC）</p>
<p>共重新分类 {{ r.total }} 件 · 分类改变 <b>{{ r.changed }}</b> 件 ·
未审核案件采用新建议 {{ r.applied }} 件 ·
已审核但与新模型不一致 <span class="flag">{{ r.flagged }}</span> 件（已标记待复核）</p>
<h2>各分类数量变化</h2>
{% if chart %}<img alt="重新分类前后各分类案件数"
src="data:image/png;base64,{{ chart }}">{% endif %}
<table><tr><th>分类</th><th class="n">之前</th><th class="n">之后</th><th class="n">变化</th></tr>
{% for cat, b, a in r.shift %}<tr>
<td>{% if code_of.get(cat) %}{{ code_of[cat] }} · {% endif %}{{ none_label if cat == none else cat }}</td>
<td class="n">{{ b }}</td><td class="n">{{ a }}</td>
<td class="n">{{ "%+d"|format(a - b) }}</td></tr>{% endfor %}</table>
<h2>原分类 → 新分类</h2>
<table><tr><th>原建议</th><th>新建议</th><th class="n">件数</th></tr>
{% for (old, new), n in r.pairs %}<tr><td>{{ none_label if old == none else old }}</td>
<td>{{ none_label if new == none else new }}</td><td class="n">{{ n }}</td></tr>
{% endfor %}
</table>
<h2>分类改变及待复核的案件{% if r.listed > r.cases|length %}（共 {{ r.listed }} 件，此处列出前
{{ r.cases|length }} 件，完整名单见 CSV）{% endif %}</h2>
<p class="meta">点击案件编号在系统中打开（{{ link_base }}…）。</p>
<table><tr><th>案件编号</th><th>状态</th><th>原建议</th><th>新建议</th><th class="n">置信度</th>
<th>审核结论</th></tr>
{% for c in r.cases %}<tr><td><a href="{{ c.link }}">{{ c.case_no }}</a></td>
<td>{{ status_labels.get(c.status, c.status) }}</td>
<td>{{ none_label if c.old_category == none else c.old_category }}</td>
<td>{{ none_label if c.new_category == none else c.new_category }}</td>
<td class="n">{{ "%.2f"|format(c.new_confidence) }}</td>
<td>{% if c.decision_category %}{{ c.decision_category }}{% if c.flagged %}
<span class="flag">待复核</span>{% endif %}{% endif %}</td></tr>{% endfor %}
</table></body></html>
"""
JOB_STATUS = {"done": "已完成", "running": "运行中", "failed": "失败", "interrupted": "已中断"}
NONE_LABEL = "（无）"


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
    output: Path | None,
    *,
    job_id: str | None = None,
    csv_path: Path | None = None,
    link_base: str | None = None,
    max_html_rows: int = 2000,
) -> ChangeReport:
    """Write the HTML report to ``output`` (default: ``reclassify-<job>.html`` in the jobs
    directory) and the changed cases to CSV; return the figures. Case links are ``link_base`` +
    case number, by default the service's public URL, so they work from a file opened anywhere."""
    settings = get_settings()
    link_base = link_base or f"{settings.public_url.rstrip('/')}/cases/"
    if job_id:
        with db.session() as session:
            job = session.get(BatchJob, job_id)
        if job is None or job.kind != "reclassify":
            raise InputError(f"no reclassify job {job_id!r}", code="no_job")
    else:
        job = latest_reclassify_job(db)
    report = ChangeReport(job.id)
    output = output or settings.jobs_dir / f"reclassify-{job.id}.html"
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
        zh = cjk_font() is not None  # Chinese in the picture only where a font can draw it
        before_name, after_name = ("之前", "之后") if zh else ("before", "after")
        chart, legend = bar_chart(
            top,
            {before_name: [before[c] for c in top], after_name: [after[c] for c in top]},
            title="重新分类前后各分类案件数"
            if zh
            else "Cases per category before and after reclassification",
            xlabel="件数" if zh else "cases",
        )
    code_of = {name: code for code, name in legend.items()}  # chart codes, shown in the shift table
    html = render(
        TEMPLATE, job=job, r=report, chart=chart, code_of=code_of, link_base=link_base, none=NONE,
        none_label=NONE_LABEL, status_labels=STATUS_LABELS, job_status=JOB_STATUS.get(job.status, job.status),
    )  # fmt: skip
    output.write_text(html, encoding="utf-8")
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
