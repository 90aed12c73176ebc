"""Self-contained HTML pages (jinja2, inline CSS, charts as base64 PNG: no CDN, works offline)."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from functools import cache

from jinja2 import Environment, select_autoescape

CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
    "Heiti SC",
    "AR PL UMing CN",
)

BASE_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI","PingFang SC","Microsoft YaHei",
"Noto Sans CJK SC",sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#1f2328}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border-bottom:1px solid #d0d7de;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.n{text-align:right;font-variant-numeric:tabular-nums}
.meta{color:#57606a}.flag{color:#cf222e;font-weight:600}img{max-width:100%}
"""


@cache
def environment() -> Environment:
    return Environment(autoescape=select_autoescape(default=True, default_for_string=True))


def render(template: str, **context: object) -> str:
    return environment().from_string(template).render(css=BASE_CSS, **context)


@cache
def cjk_font() -> str | None:
    """A font that can draw Chinese labels, if the machine has one."""
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in names), None)


def label_codes(
    labels: Sequence[str], codes: Sequence[str] | None = None
) -> tuple[list[str], dict[str, str]]:
    """Axis labels: the labels themselves when a CJK font exists, else short codes (``codes`` or
    C1, C2 …) that the page explains, so the chart never shows empty boxes."""
    if cjk_font() is not None:
        return list(labels), {}
    codes = list(codes) if codes is not None else [f"C{i + 1}" for i in range(len(labels))]
    return codes, dict(zip(codes, labels, strict=True))


def png_base64(fig: object) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")  # type: ignore[attr-defined]
    return base64.b64encode(buf.getvalue()).decode("ascii")


def bar_chart(
    labels: Sequence[str],
    series: dict[str, Sequence[float]],
    *,
    title: str,
    xlabel: str,
    codes: Sequence[str] | None = None,
) -> tuple[str, dict[str, str]]:
    """Grouped horizontal bars; returns (base64 PNG, legend of label codes or {})."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    import numpy as np

    shown, legend = label_codes(labels, codes)
    font = cjk_font()
    with plt.rc_context({"font.sans-serif": [font, "DejaVu Sans"]} if font else None):
        fig, ax = plt.subplots(figsize=(8, max(2.5, 0.42 * len(labels) + 1)))
        y = np.arange(len(labels))
        height = 0.8 / max(len(series), 1)
        for k, (name, values) in enumerate(series.items()):
            ax.barh(y + k * height, values, height=height, label=name)
        ax.set_yticks(y + height * (len(series) - 1) / 2, shown)
        ax.invert_yaxis()
        ax.set_xlabel(xlabel)
        ax.set_title(title)
        if len(series) > 1:
            ax.legend(loc="lower right")
        ax.grid(axis="x", alpha=0.3)
        data = png_base64(fig)
        plt.close(fig)
    return data, legend
