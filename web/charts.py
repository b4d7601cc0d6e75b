"""Charts drawn on the server as SVG: nothing to download, nothing to run in the browser.

Readable without colour: every series has its own marker shape and line pattern and is
named in a legend; bars carry their value as text; a suppressed figure is drawn as the
text "<5" with no bar or point (in a line chart, after a hollow marker of its series, on
that series' own line above the axis). Each chart is labelled by its title and points to the
table with the same figures, which the page always shows next to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from interviews.suppression import SUPPRESSED_TEXT

WIDTH = 640
# Dark enough on white for text and lines (WCAG non-text contrast ≥ 3:1).
STYLES = (
    ("#1f4e79", "", "circle"),
    ("#8a3b12", "6 4", "square"),
    ("#2f6b2f", "2 3", "triangle"),
    ("#5b2a86", "10 3 2 3", "diamond"),
)


@dataclass(frozen=True)
class Series:
    """A named line of values, one per category (None: suppressed)."""

    name: str
    values: Sequence[int | float | None]


def _marker(shape: str, x: float, y: float, colour: str, *, hollow: bool = False) -> str:
    paint = f'fill="none" stroke="{colour}" stroke-width="1.5"' if hollow else f'fill="{colour}"'
    if shape == "circle":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" {paint}/>'
    if shape == "square":
        return f'<rect x="{x - 4:.1f}" y="{y - 4:.1f}" width="8" height="8" {paint}/>'
    if shape == "triangle":
        points = f"{x:.1f},{y - 5:.1f} {x - 5:.1f},{y + 4:.1f} {x + 5:.1f},{y + 4:.1f}"
        return f'<polygon points="{points}" {paint}/>'
    points = f"{x:.1f},{y - 5:.1f} {x + 5:.1f},{y:.1f} {x:.1f},{y + 5:.1f} {x - 5:.1f},{y:.1f}"
    return f'<polygon points="{points}" {paint}/>'


def _nice_top(value: float) -> float:
    """The smallest 1, 2 or 5 × 10^k at or above `value` (the top of the axis)."""
    magnitude = 1.0
    while True:
        for step in (1, 2, 5):
            if step * magnitude >= value:
                return step * magnitude
        magnitude *= 10


def _frame(chart_id: str, title: str, table_id: str, height: int, body: list[str]) -> Markup:
    return Markup(
        f'<svg class="chart" id="{escape(chart_id)}" role="img" viewBox="0 0 {WIDTH} {height}" '
        f'aria-labelledby="{escape(chart_id)}-title" aria-describedby="{escape(table_id)}" '
        f'xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>' + "".join(body) + "</svg>"
    )


def line_chart(
    chart_id: str, title: str, table_id: str, categories: Sequence[str], series: Sequence[Series]
) -> Markup:
    """A time series: one line per series over `categories` (months), with a legend."""
    left, right, top, bottom = 48, 36, 16 + 20 * len(series), 40
    height = 260 + 20 * len(series)
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    highest = max([v for s in series for v in s.values if v is not None] or [0])
    scale_top = _nice_top(float(highest) or 1.0)
    step = plot_w / max(len(categories) - 1, 1)
    body: list[str] = []
    for tick in range(5):
        value = scale_top * tick / 4
        y = top + plot_h - plot_h * tick / 4
        body.append(f'<line x1="{left}" x2="{WIDTH - right}" y1="{y:.1f}" y2="{y:.1f}" '
                    'stroke="#c8c8c8" stroke-width="1"/>')  # fmt: skip
        body.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" '
                    f'class="axis">{value:g}</text>')  # fmt: skip
    every = max(1, len(categories) // 12)
    for index, label in enumerate(categories):
        if index % every == 0:
            x = left + step * index
            body.append(f'<text x="{x:.1f}" y="{height - bottom + 18}" text-anchor="middle" '
                        f'class="axis">{escape(label)}</text>')  # fmt: skip
    for position, item in enumerate(series):
        colour, dash, shape = STYLES[position % len(STYLES)]
        legend_y = 14 + 20 * position
        body.append(f'<g class="series" data-series="{escape(item.name)}">')
        body.append(_marker(shape, left + 6, legend_y - 4, colour))
        body.append(
            f'<text x="{left + 16}" y="{legend_y}" class="legend">{escape(item.name)}</text>'
        )
        # Each series' "<5" on a line of its own above the axis, after a hollow marker of
        # its shape: several hidden at one month stay apart and say whose they are.
        hidden_y = top + plot_h - 6 - 14 * position
        runs: list[list[tuple[float, float]]] = [[]]
        for index, point in enumerate(item.values):
            x = left + step * index
            if point is None:
                body.append(_marker(shape, x - 5, hidden_y - 4, colour, hollow=True))
                body.append(f'<text x="{x + 1:.1f}" y="{hidden_y:.1f}" class="suppressed">'
                            f"{escape(SUPPRESSED_TEXT)}</text>")  # fmt: skip
                runs.append([])
                continue
            y = top + plot_h - plot_h * float(point) / scale_top
            runs[-1].append((x, y))
            body.append(_marker(shape, x, y, colour))
        for run in runs:
            if len(run) > 1:
                points = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
                dashes = f' stroke-dasharray="{dash}"' if dash else ""
                body.append(f'<polyline points="{points}" fill="none" stroke="{colour}" '
                            f'stroke-width="2"{dashes}/>')  # fmt: skip
        body.append("</g>")
    return _frame(chart_id, title, table_id, height, body)


def bar_chart(
    chart_id: str,
    title: str,
    table_id: str,
    labels: Sequence[str],
    values: Sequence[int | float | None],
) -> Markup:
    """Horizontal bars, one per label, each with its value written at its end."""
    row_h, left, right = 26, 200, 60
    height = max(row_h * len(labels) + 16, 40)
    highest = max([v for v in values if v is not None] or [1])
    plot_w = WIDTH - left - right
    body: list[str] = []
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = 8 + row_h * index
        body.append(f'<text x="{left - 8}" y="{y + 15}" text-anchor="end" '
                    f'class="label">{escape(label[:32])}</text>')  # fmt: skip
        if value is None:
            body.append(f'<text x="{left + 4}" y="{y + 15}" class="suppressed">'
                        f'{escape(SUPPRESSED_TEXT)}</text>')  # fmt: skip
            continue
        width = plot_w * float(value) / float(highest) if highest else 0
        body.append(f'<rect x="{left}" y="{y + 2}" width="{width:.1f}" height="{row_h - 8}" '
                    'fill="#1f4e79"/>')  # fmt: skip
        body.append(f'<text x="{left + width + 6:.1f}" y="{y + 15}" class="value">'
                    f"{value:g}</text>")  # fmt: skip
    return _frame(chart_id, title, table_id, height, body)
