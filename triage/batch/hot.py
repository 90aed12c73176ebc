"""``triage batch hot-issues``: read records from a file or the case database, cluster them with
:func:`triage.dedup.hot_issues.cluster_hot_issues`, write CSV and/or HTML."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from triage.batch.charts import bar_chart, render
from triage.dedup.hot_issues import HotIssue, HotRecord
from triage.tabular.files import TabularReader, TabularWriter, cell_text, join_text, parse_datetime
from triage.text.masking import mask_pii, mask_terms

CSV_COLUMNS = [
    "rank", "title", "size", "heat", "recent", "previous", "growth", "likes", "first_seen", "last_seen",
    "category", "place", "keywords", "representative_id", "record_ids",
]  # fmt: skip

TEMPLATE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<title>Hot issues</title><style>{{ css }}</style></head><body>
<h1>Hot issues</h1>
<p class="meta">{{ n_records }} records{% if since %} since {{ since }}{% endif %}
· {{ issues|length }} issues · link score ≥ {{ threshold }}
· heat = size + recent + 0.5·ln(1 + likes)
· growth = (last {{ growth_days }} days + 1) / (the {{ growth_days }} days before + 1)</p>
{% if chart %}<img alt="largest hot issues" src="data:image/png;base64,{{ chart }}">{% endif %}
<table><tr><th class="n">#</th><th>Issue</th><th class="n">Records</th><th class="n">Recent</th>
<th class="n">Growth</th><th class="n">Likes</th><th>Period</th><th>Keywords</th></tr>
{% for h in issues %}<tr><td class="n">{{ h.rank }}</td><td>{{ h.title }}<br>
<span class="meta">{{ h.place or "" }} · {{ h.category or "" }} · e.g. {{ h.representative_id }}</span></td>
<td class="n">{{ h.size }}</td><td class="n">{{ h.recent }}</td>
<td class="n">{{ "%.2f"|format(h.growth) }}</td><td class="n">{{ h.likes }}</td>
<td>{{ h.first_seen.strftime('%Y-%m-%d') if h.first_seen else "" }} – {{ h.last_seen.strftime('%Y-%m-%d')
if h.last_seen else "" }}</td><td>{{ h.keywords|join(" ") }}</td></tr>{% endfor %}
</table></body></html>
"""


def records_from_file(
    path: Path,
    *,
    text_cols: Sequence[str],
    id_col: str | None = None,
    title_col: str | None = None,
    time_col: str | None = None,
    likes_col: str | None = None,
    category_col: str | None = None,
) -> Iterator[HotRecord]:
    """Records of a CSV/XLSX/JSONL file (unreadable rows are skipped)."""
    with TabularReader(path) as reader:
        reader.require(
            [*text_cols, *(c for c in (id_col, title_col, time_col, likes_col, category_col) if c)]
        )
        for rec in reader:
            if rec.values is None:
                continue
            v = rec.values
            likes = cell_text(v.get(likes_col)) if likes_col else ""
            yield HotRecord(
                id=cell_text(v.get(id_col)) if id_col else str(rec.row),
                text=join_text(v, [c for c in text_cols if c != title_col]),
                title=cell_text(v.get(title_col)) or None if title_col else None,
                time=parse_datetime(v.get(time_col)) if time_col else None,
                likes=int(float(likes)) if likes.replace(".", "", 1).isdigit() else 0,
                category=cell_text(v.get(category_col)) or None if category_col else None,
            )


def records_from_db(database_url: str | None, *, since: datetime | None = None) -> Iterator[HotRecord]:
    """Cases (not merged or rejected); 'likes' are the citizens merged into each case."""
    from sqlmodel import col, select

    from triage.store.db import Database
    from triage.store.models import Case, CaseStatus

    db = Database(database_url)
    with db.session() as session:
        stmt = select(Case).where(
            col(Case.status).not_in([CaseStatus.MERGED.value, CaseStatus.REJECTED.value])
        )
        if since is not None:
            stmt = stmt.where(Case.created_at >= since)
        for case in session.exec(stmt.order_by(col(Case.id)).execution_options(yield_per=1000)):
            yield HotRecord(
                id=case.case_no,
                text=case.text,
                title=case.title,
                time=case.created_at,
                likes=case.duplicate_count,
                category=case.category or case.suggested_category,
                place=case.address or case.community,
            )


def write_hot_issues(
    issues: list[HotIssue],
    *,
    csv_path: Path | None = None,
    html_path: Path | None = None,
    n_records: int = 0,
    since: datetime | None = None,
    threshold: float = 0.0,
    growth_days: int = 7,
) -> dict[str, str]:
    outputs: dict[str, str] = {}
    # Titles and keywords are cut from the records' text (raw when read from a file): shown masked.
    issues = [replace(h, title=mask_pii(h.title), keywords=mask_terms(h.keywords)) for h in issues]
    if csv_path is not None:
        with TabularWriter(csv_path, CSV_COLUMNS, encoding="utf-8-sig") as out:
            for h in issues:
                row = h.to_dict()
                row["keywords"] = " ".join(h.keywords)
                row["record_ids"] = " ".join(h.record_ids)
                out.write(row)
        outputs["csv"] = str(csv_path)
    if html_path is not None:
        top = issues[:15]
        chart = ""
        if top:
            chart, _ = bar_chart(
                [h.title for h in top],
                {"records": [h.size for h in top], f"last {growth_days} days": [h.recent for h in top]},
                title="Largest hot issues",
                xlabel="records",
                codes=[f"#{h.rank}" for h in top],  # the table's rank column explains them
            )
        html = render(
            TEMPLATE, issues=issues, chart=chart, n_records=n_records,
            since=since.date().isoformat() if since else None, threshold=threshold, growth_days=growth_days,
        )  # fmt: skip
        html_path.write_text(html, encoding="utf-8")
        outputs["html"] = str(html_path)
    return outputs
