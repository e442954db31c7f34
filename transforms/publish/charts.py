"""Trend charts as SVG text, written by the pipeline: they need no script, no library and no
network, and a screen reader gets their title and a table of the same figures beside them.

Values are counts as the table publishes them; a negative value is a month without a figure
(hidden or not in the release): the line breaks there and a hidden month gets a grey mark, so
the chart never draws through a value the table does not give.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Sequence

import numpy as np

from transforms.publish.language import attribute
from transforms.publish.units import HIDDEN

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 12, 30


def trend_svg(
    months: Sequence[str],
    series: Sequence[tuple[tuple[str, str], np.ndarray, str]],
    title: tuple[str, str],
) -> str:
    """A line chart of ``series`` ((label, values by month, CSS class)) over ``months``, with
    month labels and a scale from zero; hidden months of the first series get a grey mark.
    Titles and labels are (Czech, English) (``transforms.publish.language``)."""
    n = len(months)
    top = _nice_top(max((int(values.max(initial=0)) for _, values, _ in series), default=0))
    xs, pairs = _x_positions(n)
    months_at = np.arange(n)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" {attribute("aria-label", *title)} class="chart">',
        _title(*title),
        _frame(top, tuple(months)),
    ]
    for number, (label, values, css) in enumerate(series):
        # a decade's pages draw 300,000 lines of 130 points: their "x,y" texts are looked up
        ys = np.rint(TOP + PLOT_H * (1 - np.maximum(values, 0) / top)).astype(np.int64)
        points = pairs[months_at, ys]
        for start, end in _runs(values):
            if end - start == 1:
                parts.append(f'<circle class="{css}" cx="{xs[start]}" cy="{ys[start]}" r="3"/>')
            else:
                parts.append(
                    f'<polyline class="{css}" points="{" ".join(points[start:end].tolist())}"/>'
                )
        hidden = np.flatnonzero(values == HIDDEN).tolist() if number == 0 else []
        if hidden:  # the other series are the same months, moved
            base = _y(0, top) - 6
            marks = "".join(f"M{xs[i] - 3} {base}h6v6h-6z" for i in hidden)
            parts.append(
                f'<path class="hidden-mark" d="{marks}">'
                f"{_title(f'skryto: {label[0]}', f'hidden: {label[1]}')}</path>"
            )
    parts.append("</svg>")
    return "".join(parts)


PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM


def _title(cs: str, en: str) -> str:
    """An SVG ``<title>`` (one text only: the page's script swaps in the English)."""
    return f'<title data-en="{html.escape(en)}">{html.escape(cs)}</title>'


def _y(value: float, top: float) -> int:
    return round(TOP + PLOT_H * (1 - value / top))


@functools.lru_cache(maxsize=8)
def _x_positions(n: int) -> tuple[list[int], np.ndarray]:
    """Each month's x, and the text ``"x,y"`` of every month and every y of the chart."""
    xs = [round(LEFT + PLOT_W * (i + 0.5) / n) for i in range(n)]
    pairs = np.array([[f"{x},{y}" for y in range(HEIGHT + 1)] for x in xs], dtype=object)
    return xs, pairs


@functools.lru_cache(maxsize=256)
def _frame(top: float, months: tuple[str, ...]) -> str:
    """The scale's grid and labels and the months' labels: the same for every chart of a scale."""
    xs, _ = _x_positions(len(months))
    parts = []
    for k in range(5):
        value = top * k / 4
        y = _y(value, top)
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y}" '
            f'y2="{y}"/><text class="axis" x="{LEFT - 4}" y="{y + 4}" '
            f'text-anchor="end">{value:,.0f}</text>'
        )
    step = max(1, round(len(months) / 8))
    for i in range(0, len(months), step):
        parts.append(
            f'<text class="axis" x="{xs[i]}" y="{HEIGHT - 10}" '
            f'text-anchor="middle">{html.escape(months[i])}</text>'
        )
    return "".join(parts)


def _runs(values: np.ndarray) -> list[tuple[int, int]]:
    """The runs of consecutive months that have a value, as (first, after the last)."""
    shown = np.concatenate([[False], values >= 0, [False]])
    edges = np.flatnonzero(np.diff(shown.astype(np.int8))).tolist()
    return list(zip(edges[::2], edges[1::2], strict=True))


def _nice_top(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10^k at or above ``value`` (at least 4): the scale's top."""
    value = max(float(value), 4.0)
    magnitude = 10 ** np.floor(np.log10(value))
    for factor in (1, 2, 2.5, 5, 10):
        if factor * magnitude >= value:
            return float(factor * magnitude)
    return float(10 * magnitude)
