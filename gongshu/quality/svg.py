"""Small inline SVG charts (bars and lines) that need no JavaScript: for pages and printed PDFs alike.

Every text (title, labels, values) is escaped, Chinese labels are measured as full-width, and
``None`` values show as gaps (a ``—`` instead of a bar, a break in a line). The charts carry their
own colours and fonts as attributes, so they look the same inline in a page, in a PDF printed by
Chromium, or saved as ``.svg`` files.

Example::

    svg_bar_chart([("市公安局", 88.6), ("市统计局", None)], title="质量得分", max_value=100)
    svg_line_chart([("得分", [74.2, None, 75.0])], ["8月", "9月", "10月"], title="近 3 个月")
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

#: What a chart shows for a value nothing measured.
NONE = "—"


def compact(value: float, lang: str = "zh-CN") -> str:
    """A chart's axis label: ``1.2亿``, ``350万``, ``1.2B``, ``350M``, ``80``."""
    steps = ((1e8, "亿"), (1e4, "万")) if lang != "en" else ((1e9, "B"), (1e6, "M"), (1e3, "K"))
    for size, unit in steps:
        if abs(value) >= size:
            return f"{value / size:.3g}{unit}"
    return f"{value:.3g}" if value != int(value) else str(int(value))


FONT = "'WenQuanYi Zen Hei','Noto Sans CJK SC','PingFang SC','Microsoft YaHei',sans-serif"
PALETTE = ("#0b4f9c", "#c8102e", "#0f7b4a", "#9a5b00")
INK, MUTED, GRID = "#1f2937", "#6b7280", "#e5e7eb"


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def text_width(text: str, size: float) -> float:
    """Rough rendered width: CJK characters are square, Latin ones about half as wide."""
    return sum(size if ord(ch) > 0x2E7F else size * 0.58 for ch in text)


def _clip(text: str, size: float, room: float) -> str:
    if text_width(text, size) <= room:
        return text
    while text and text_width(text + "…", size) > room:
        text = text[:-1]
    return text + "…"


def _nice_step(span: float, ticks: int = 4) -> float:
    raw = span / ticks if span > 0 else 1.0
    power = 10.0 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)


def _axis(low: float, high: float) -> tuple[float, float, list[float]]:
    """A rounded axis range around [low, high] and its ticks; it starts at 0 unless data sit far above."""
    if low > 0 and low < 0.4 * high:
        low = 0.0
    if high == low:  # one value (or all equal): a band around it
        pad = abs(low) * 0.05 or 1.0
        low, high = (low - pad if low - pad >= 0 or low < 0 else 0.0), high + pad
    step = _nice_step(high - low)
    start, stop = math.floor(low / step) * step, math.ceil(high / step) * step
    count = round((stop - start) / step)
    return start, stop, [start + i * step for i in range(count + 1)]


def _svg_open(width: int, height: int, title: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{_esc(title)}" font-family="{FONT}">',
        f"<title>{_esc(title)}</title>",
        f'<text x="0" y="16" font-size="14" font-weight="bold" fill="{INK}">{_esc(title)}</text>',
    ]


def svg_bar_chart(
    items: Sequence[tuple[str, float | None]],
    *,
    title: str,
    unit: str = "",
    max_value: float | None = None,
    width: int = 640,
    height: int | None = None,
    lang: str = "zh-CN",
) -> str:
    """A horizontal bar chart as an inline SVG document; ``None`` values show ``—`` and no bar.

    ``height`` defaults to what the bars need (22 px each). Every label is escaped.

    Example::

        svg_bar_chart([("市公安局", 88.6), ("市统计局", None)], title="质量得分", max_value=100)
    """
    size, row = 12.0, 22
    height = height or 34 + row * max(len(items), 1) + 24
    room = max(row * 0.4, (height - 34 - 24) / max(len(items), 1))
    names = [str(name) for name, _ in items]
    label_w = min(max([text_width(n, size) for n in names] + [20.0]) + 8, width * 0.38)
    value_w = text_width(f"{max_value or 0:,.1f}{unit}", size) + 16
    x0, x1 = label_w + 6, width - max(value_w, 48)
    values = [v for _, v in items if v is not None]
    top = max_value if max_value is not None else max(values, default=0.0)
    _, stop, ticks = _axis(0.0, float(top) or 1.0)
    if max_value is not None:
        stop, ticks = float(max_value), [t for t in ticks if t <= max_value]
    scale = (x1 - x0) / (stop or 1.0)
    parts = _svg_open(width, height, title)
    base = 34 + room * len(items)
    for tick in ticks:
        x = x0 + tick * scale
        parts.append(f'<line x1="{x:.1f}" y1="30" x2="{x:.1f}" y2="{base:.1f}" stroke="{GRID}"/>')
        parts.append(
            f'<text x="{x:.1f}" y="{base + 15:.1f}" font-size="10" fill="{MUTED}" '
            f'text-anchor="middle">{_esc(compact(tick, lang))}</text>'
        )
    for i, (name, value) in enumerate(items):
        y = 34 + i * room
        mid = y + room / 2 + size * 0.36
        shown = _clip(str(name), size, label_w - 4)
        tip = "" if shown == str(name) else f"<title>{_esc(name)}</title>"  # the whole of a clipped name
        parts.append(
            f'<text x="{label_w:.1f}" y="{mid:.1f}" font-size="{size:g}" fill="{INK}" text-anchor="end">'
            f"{tip}{_esc(shown)}</text>"
        )
        if value is None:
            parts.append(
                f'<text x="{x0 + 4:.1f}" y="{mid:.1f}" font-size="{size:g}" fill="{MUTED}">{NONE}</text>'
            )
            continue
        bar = max(0.0, min(float(value), stop)) * scale
        tip = _esc(f"{name}: {value:,.1f}{unit}")
        parts.append(
            f'<rect x="{x0:.1f}" y="{y + room * 0.18:.1f}" width="{bar:.1f}" height="{room * 0.64:.1f}" '
            f'rx="2" fill="{PALETTE[0]}"><title>{tip}</title></rect>'
        )
        parts.append(
            f'<text x="{x0 + bar + 5:.1f}" y="{mid:.1f}" font-size="{size:g}" fill="{INK}">'
            f"{_esc(f'{value:,.1f}')}{_esc(unit)}</text>"
        )
    parts.append("</svg>")
    return "\n".join(parts)


def _segments(points: Sequence[tuple[float, float] | None]) -> list[list[tuple[float, float]]]:
    """Runs of consecutive measured points: a ``None`` breaks the line."""
    runs: list[list[tuple[float, float]]] = [[]]
    for point in points:
        if point is None:
            runs.append([])
        else:
            runs[-1].append(point)
    return [run for run in runs if run]


def svg_line_chart(
    series: Sequence[tuple[str, Sequence[float | None]]],
    labels: Sequence[str],
    *,
    title: str,
    width: int = 640,
    height: int = 240,
    lang: str = "zh-CN",
) -> str:
    """A line chart of one or more series over ``labels`` as an inline SVG; ``None`` leaves a gap.

    All series share one y axis (draw quantities of different scales as separate charts).

    Example::

        svg_line_chart([("质量得分", [74.2, None, 75.0])], ["2026-08", "2026-09", "2026-10"], title="得分")
    """
    left, right, top, bottom = 52.0, 18.0, 44.0 if len(series) > 1 else 30.0, 26.0
    values = [float(v) for _, vs in series for v in vs if v is not None]
    low, high, ticks = _axis(min(values, default=0.0), max(values, default=1.0))
    plot_w, plot_h = width - left - right, height - top - bottom
    step = plot_w / max(len(labels) - 1, 1)

    def y_of(value: float) -> float:
        return top + plot_h - (value - low) / ((high - low) or 1.0) * plot_h

    parts = _svg_open(width, height, title)
    for tick in ticks:
        y = y_of(tick)
        parts.append(
            f'<line x1="{left:.1f}" y1="{y:.1f}" x2="{width - right:.1f}" y2="{y:.1f}" stroke="{GRID}"/>'
        )
        parts.append(
            f'<text x="{left - 6:.1f}" y="{y + 3.5:.1f}" font-size="10" fill="{MUTED}" '
            f'text-anchor="end">{_esc(compact(tick, lang))}</text>'
        )
    every = max(1, math.ceil(len(labels) * 44 / plot_w))
    for i, text in enumerate(labels):
        if i % every == 0 or i == len(labels) - 1:
            parts.append(
                f'<text x="{left + i * step:.1f}" y="{height - 8:.1f}" font-size="10" fill="{MUTED}" '
                f'text-anchor="middle">{_esc(text)}</text>'
            )
    for n, (name, vs) in enumerate(series):
        color = PALETTE[n % len(PALETTE)]
        points = [None if v is None else (left + i * step, y_of(float(v))) for i, v in enumerate(vs)]
        for run in (r for r in _segments(points) if len(r) > 1):  # a lone point is only its dot
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        for i, (point, value) in enumerate(zip(points, vs, strict=False)):
            if point is None or value is None:
                continue
            tip = f"{labels[i] if i < len(labels) else ''} {name}: {value:,.2f}".strip()
            parts.append(
                f'<circle cx="{point[0]:.1f}" cy="{point[1]:.1f}" r="3" fill="#fff" stroke="{color}" '
                f'stroke-width="2"><title>{_esc(tip)}</title></circle>'
            )
        if len(series) > 1:
            x = left + n * (plot_w / len(series))
            parts.append(f'<rect x="{x:.1f}" y="25" width="12" height="4" fill="{color}"/>')
            parts.append(f'<text x="{x + 16:.1f}" y="31" font-size="11" fill="{INK}">{_esc(name)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)
