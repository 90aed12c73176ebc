"""Charts as inline SVG written on the server: no JavaScript library, no CDN, readable on a phone
(they scale with ``viewBox``) and printable. Each bar carries a <title> tooltip with its figure."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date

from markupsafe import Markup, escape

# Okabe–Ito colours: distinguishable with the common colour-vision deficiencies.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#999999", "#F0E442"]
OPEN_COLOUR, LATE_COLOUR = "#0072B2", "#D55E00"


def _nice_max(value: float) -> tuple[float, float]:
    """A round axis maximum and an integer tick step (the charts count cases)."""
    if value <= 4:
        return float(max(math.ceil(value), 1)), 1.0
    raw = value / 4
    exp = 10 ** math.floor(math.log10(raw))
    step = float(math.ceil(next(m * exp for m in (1, 2, 2.5, 5, 10) if m * exp >= raw)))
    return step * math.ceil(value / step), step


def _svg(width: int, height: int, body: list[str], label: str, wide: bool = False) -> Markup:
    cls = "chart wide" if wide else "chart"
    return Markup(
        f'<svg class="{cls}" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(label)}</title>{"".join(body)}</svg>'
    )


def _text(x: float, y: float, s: object, anchor: str = "start", cls: str = "") -> str:
    c = f' class="{cls}"' if cls else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{c}>{escape(str(s))}</text>'


def _rect(x: float, y: float, w: float, h: float, fill: str, tip: str) -> str:
    return (
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{max(h, 0):.1f}" fill="{fill}">'
        f"<title>{escape(tip)}</title></rect>"
    )


def _legend(names: Sequence[str], colours: Sequence[str], x0: float, y: float, width: float) -> list[str]:
    out, x = [], x0
    for name, colour in zip(names, colours, strict=False):
        w = 22 + 13 * len(name)
        if x + w > width and x > x0:
            x, y = x0, y + 18
        out.append(f'<rect x="{x:.1f}" y="{y - 10:.1f}" width="12" height="12" fill="{colour}"/>')
        out.append(_text(x + 16, y, name, cls="legend"))
        x += w
    return out


def _y_axis(left: float, top: float, plot_h: float, width: float, top_value: float, step: float) -> list[str]:
    out = []
    ticks = int(round(top_value / step))
    for i in range(ticks + 1):
        v = step * i
        y = top + plot_h - plot_h * v / top_value
        out.append(f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        out.append(_text(left - 6, y + 4, f"{v:g}", "end", "axis"))
    return out


def stacked_daily(days: Sequence[date], series: dict[str, list[int]], label: str = "每日受理量") -> Markup:
    """Daily volume as stacked bars, one colour per category."""
    width, height, left, top = 760, 250, 44, 14
    names = list(series)
    legend_rows = 1 + (sum(22 + 13 * len(n) for n in names) // (width - left))
    plot_h = height - top - 40 - 18 * legend_rows
    totals = [sum(series[n][i] for n in names) for i in range(len(days))]
    top_value, step = _nice_max(max(totals, default=0))
    body = _y_axis(left, top, plot_h, width, top_value, step)
    slot = (width - left - 10) / max(len(days), 1)
    bar_w = max(slot * 0.72, 1)
    label_every = max(1, math.ceil(len(days) / 10))
    for i, day in enumerate(days):
        x = left + i * slot + (slot - bar_w) / 2
        y: float = top + plot_h
        for n, colour in zip(names, PALETTE, strict=False):
            v = series[n][i]
            if v:
                h = plot_h * v / top_value
                y -= h
                body.append(_rect(x, y, bar_w, h, colour, f"{day:%m-%d} {n}：{v} 件"))
        if i % label_every == 0 or i == len(days) - 1:
            body.append(_text(x + bar_w / 2, top + plot_h + 16, f"{day:%m-%d}", "middle", "axis"))
    body += _legend(names, PALETTE, left, top + plot_h + 40, width)
    return _svg(width, height, body, label, wide=True)


def department_bars(items: Sequence[tuple[str, int, int]], label: str = "各部门在办与超期") -> Markup:
    """Horizontal bars per department: open cases, with the overdue part in a warning colour."""
    items = list(items)[:12]
    left, row_h, top, width = 150, 26, 10, 760
    height = top + row_h * max(len(items), 1) + 44
    top_value, step = _nice_max(max((o for _, o, _ in items), default=0))
    scale = (width - left - 110) / top_value  # room after the longest bar for "12（超期 3）"
    body: list[str] = []
    for i, (name, open_, late) in enumerate(items):
        y = top + i * row_h
        short = name if len(name) <= 10 else name[:9] + "…"
        body.append(_text(left - 8, y + 15, short, "end", "axis"))
        body.append(_rect(left, y + 3, open_ * scale, 16, OPEN_COLOUR, f"{name}：在办 {open_} 件"))
        if late:
            body.append(_rect(left, y + 3, late * scale, 16, LATE_COLOUR, f"{name}：超期 {late} 件"))
        body.append(
            _text(left + open_ * scale + 6, y + 15, f"{open_}" + (f"（超期 {late}）" if late else ""))
        )
    if not items:
        body.append(_text(width / 2, top + 16, "暂无在办案件", "middle", "axis"))
        return _svg(width, top + row_h + 8, body, label, wide=True)
    y = top + row_h * len(items) + 26
    body += _legend(["在办", "其中超期"], [OPEN_COLOUR, LATE_COLOUR], left, y, width)
    return _svg(width, height, body, label, wide=True)


def ring(value: float | None, caption: str, colour: str = "#009E73") -> Markup:
    """A percentage as a ring (resolution rate, on-time rate)."""
    size, r, stroke = 160, 60, 18
    c = 2 * math.pi * r
    frac = 0.0 if value is None else max(0.0, min(1.0, value))
    text = "—" if value is None else f"{frac * 100:.0f}%"
    body = [
        f'<circle cx="80" cy="80" r="{r}" fill="none" stroke="#e5e7eb" stroke-width="{stroke}"/>',
        f'<circle cx="80" cy="80" r="{r}" fill="none" stroke="{colour}" stroke-width="{stroke}" '
        f'stroke-dasharray="{c * frac:.1f} {c:.1f}" transform="rotate(-90 80 80)">'
        f"<title>{escape(caption)}：{text}</title></circle>",
        _text(80, 88, text, "middle", "big"),
    ]
    return _svg(size, size, body, f"{caption}：{text}")


def satisfaction_bars(counts: dict[int, int], label: str = "满意度分布") -> Markup:
    width, height, left, top = 420, 220, 40, 12
    plot_h = height - top - 36
    top_value, step = _nice_max(max(counts.values(), default=0))
    body = _y_axis(left, top, plot_h, width, top_value, step)
    colours = {1: "#D55E00", 2: "#E69F00", 3: "#999999", 4: "#56B4E9", 5: "#009E73"}
    slot = (width - left - 10) / 5
    for i, score in enumerate(range(1, 6)):
        v = counts.get(score, 0)
        h = plot_h * v / top_value
        x = left + i * slot + slot * 0.2
        body.append(_rect(x, top + plot_h - h, slot * 0.6, h, colours[score], f"{score} 分：{v} 件"))
        body.append(_text(x + slot * 0.3, top + plot_h + 18, f"{score} 分", "middle", "axis"))
        if v:
            body.append(_text(x + slot * 0.3, top + plot_h - h - 4, v, "middle", "axis"))
    return _svg(width, height, body, label)


def hot_bars(items: Sequence[tuple[str, int, float]], label: str = "热点诉求规模") -> Markup:
    """Hot issues: bar length = cases in the cluster; the label notes the growth."""
    items = list(items)[:10]
    left, row_h, top, width = 24, 26, 6, 760
    height = top + row_h * max(len(items), 1) + 8
    top_value, _ = _nice_max(max((s for _, s, _ in items), default=0))
    scale = (width - left - 120) / top_value
    body: list[str] = []
    for i, (title, size, growth) in enumerate(items):
        y = top + i * row_h
        body.append(_text(left - 6, y + 15, i + 1, "end", "axis"))
        colour = LATE_COLOUR if growth > 1.5 else OPEN_COLOUR
        trend = "↑" if growth > 1 else ("↓" if growth < 1 else "→")
        body.append(_rect(left, y + 3, size * scale, 16, colour, f"{title}：{size} 件，增长 ×{growth:g}"))
        body.append(_text(left + size * scale + 6, y + 15, f"{size} 件 {trend}×{growth:g}"))
    if not items:
        body.append(_text(width / 2, top + 16, "暂无热点", "middle", "axis"))
    return _svg(width, height, body, label, wide=True)
