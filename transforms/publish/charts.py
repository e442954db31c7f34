"""Trend charts as SVG text, written by the pipeline: they need no script, no library and no
network, and a screen reader gets their title and a table of the same figures beside them.

Values are counts as the table publishes them; a negative value is a month without a figure
(hidden or not in the release): the line breaks there and a hidden month gets a grey mark, so
the chart never draws through a value the table does not give.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np

from transforms.publish.units import HIDDEN

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 12, 30


def trend_svg(
    months: Sequence[str],
    series: Sequence[tuple[str, np.ndarray, str]],
    title: str,
) -> str:
    """A line chart of ``series`` ((label, values by month, CSS class)) over ``months``, with
    month labels and a scale from zero; hidden months of the first series get a grey mark."""
    n = len(months)
    top = _nice_top(max((int(values.max(initial=0)) for _, values, _ in series), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    xs = [round(LEFT + plot_w * (i + 0.5) / n) for i in range(n)]

    def y(value: float) -> int:
        return round(TOP + plot_h * (1 - value / top))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-label="{html.escape(title)}" class="chart">',
        f"<title>{html.escape(title)}</title>",
    ]
    for k in range(5):
        value = top * k / 4
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(value)}" '
            f'y2="{y(value)}"/><text class="axis" x="{LEFT - 4}" y="{y(value) + 4}" '
            f'text-anchor="end">{value:,.0f}</text>'
        )
    step = max(1, round(n / 8))
    for i in range(0, n, step):
        parts.append(
            f'<text class="axis" x="{xs[i]}" y="{HEIGHT - 10}" '
            f'text-anchor="middle">{html.escape(months[i])}</text>'
        )
    for number, (label, values, css) in enumerate(series):
        ys = np.rint(TOP + plot_h * (1 - np.maximum(values, 0) / top)).astype(int).tolist()
        for run in _runs(values):
            if len(run) == 1:
                parts.append(f'<circle class="{css}" cx="{xs[run[0]]}" cy="{ys[run[0]]}" r="3"/>')
            else:
                points = " ".join([f"{xs[i]},{ys[i]}" for i in run])
                parts.append(f'<polyline class="{css}" points="{points}"/>')
        hidden = np.flatnonzero(values == HIDDEN).tolist() if number == 0 else []
        if hidden:  # the other series are the same months, moved
            marks = "".join(f"M{xs[i] - 3} {y(0) - 6}h6v6h-6z" for i in hidden)
            parts.append(
                f'<path class="hidden-mark" d="{marks}"><title>skryto / hidden: '
                f"{html.escape(label)}</title></path>"
            )
    parts.append("</svg>")
    return "".join(parts)


def _runs(values: np.ndarray) -> list[list[int]]:
    """The runs of consecutive months that have a value."""
    shown = np.concatenate([[False], values >= 0, [False]])
    edges = np.flatnonzero(np.diff(shown.astype(np.int8)))
    return [list(range(a, b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def _nice_top(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10^k at or above ``value`` (at least 4): the scale's top."""
    value = max(float(value), 4.0)
    magnitude = 10 ** np.floor(np.log10(value))
    for factor in (1, 2, 2.5, 5, 10):
        if factor * magnitude >= value:
            return float(factor * magnitude)
    return float(10 * magnitude)
