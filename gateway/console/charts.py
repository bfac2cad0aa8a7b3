"""Charts drawn on the server as SVG: no script and no file from outside the process."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from html import escape

from markupsafe import Markup

from models.sentences import moment

COLOURS = ("#1f5fa8", "#d9822b", "#2e8b57", "#b03a48")


@dataclass
class Series:
    name: str
    values: list[float | None]  # None: nothing to show that week (no gap filled in)


def lines(labels: list[str], series: list[Series], *, title: str, percent: bool = False) -> Markup:
    """A line chart: one line per series over the labels, a y axis from 0."""
    width, height, left, bottom, top = 720, 260, 48, 36, 48
    plot_w, plot_h = width - left - 16, height - top - bottom
    known = [v for s in series for v in s.values if v is not None]
    peak = 100.0 if percent else max([1.0, *known])
    step = plot_w / max(1, len(labels) - 1)

    def x(i: int) -> float:
        return left + i * step

    def y(v: float) -> float:
        return top + plot_h - (v / peak) * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" class="chart">',
        f'<text x="{left}" y="16" class="chart-title">{escape(title)}</text>',
    ]
    for k in range(5):
        v = peak * k / 4
        parts.append(f'<line x1="{left}" x2="{width - 16}" y1="{y(v):.1f}" y2="{y(v):.1f}" class="grid"/>')
        parts.append(f'<text x="{left - 6}" y="{y(v) + 4:.1f}" class="axis" text-anchor="end">{v:g}</text>')
    for i, label in enumerate(labels):
        if len(labels) <= 13 or i % 2 == 0:
            parts.append(
                f'<text x="{x(i):.1f}" y="{height - 12}" class="axis" text-anchor="middle">{escape(label[5:])}</text>'
            )
    for n, s in enumerate(series):
        colour = COLOURS[n % len(COLOURS)]
        points = [(x(i), y(v)) for i, v in enumerate(s.values) if v is not None]
        if points:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
            parts += [f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{colour}"/>' for px, py in points]
        parts.append(f'<rect x="{left + n * 160}" y="24" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{left + 14 + n * 160}" y="33" class="legend">{escape(s.name)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


@dataclass
class Bar:
    label: str
    start: datetime
    due: datetime
    end: datetime  # when it was done, or now while it runs
    state: str  # met, late, BREACHED, missed, open, superseded, not owed
    allowed: str = ""  # the time allowed as its policy says it, in the page's words: 50个工作日


def deadlines(bars: list[Bar], *, labels: dict[str, str], span: Callable[[float], str]) -> Markup:
    """Each milestone against its own deadline: the grey bar is the time allowed (every bar the
    same length, so a 10-minute and a 50-day promise read alike), the coloured one the time taken
    so far, and what ran past the deadline in red beyond it (drawn up to half as long again).
    The first row says so (`labels["axis"]`); each bar ends with the time taken and the time
    allowed, as the policy says it (50 working days, not 77 calendar days)."""
    if not bars:
        return Markup("")
    width, left, row, allowed_w, head = 1060, 150, 26, 400, 22
    height = head + row * len(bars) + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" class="chart deadlines" role="img">',
        f'<text x="{left}" y="15" class="axis legend">{escape(labels.get("axis", ""))}</text>',
    ]
    for i, b in enumerate(bars):
        top = head + 5 + i * row
        allowed = max((b.due - b.start).total_seconds(), 1.0)
        taken = max((b.end - b.start).total_seconds(), 0.0)
        share = taken / allowed
        parts.append(f'<text x="{left - 8}" y="{top + 15}" class="axis" text-anchor="end">{escape(b.label)}</text>')
        parts.append(
            f'<rect x="{left}" y="{top + 4}" width="{allowed_w}" height="14" class="allowed">'
            f"<title>{escape(labels.get('due_at', 'due'))} {moment(b.due)}</title></rect>"
        )
        state = escape(b.state.replace(" ", "-"))
        parts.append(
            f'<rect x="{left}" y="{top + 7}" width="{max(min(share, 1.0) * allowed_w, 1):.1f}" height="8" '
            f'class="taken state-{state}"/>'
        )
        if share > 1:
            over = min(share - 1, 0.5) * allowed_w
            parts.append(
                f'<rect x="{left + allowed_w}" y="{top + 4}" width="{max(over, 2):.1f}" height="14" class="over">'
                f"<title>{escape(labels.get('breached', 'breached'))}</title></rect>"
            )
        parts.append(
            f'<line x1="{left + allowed_w}" x2="{left + allowed_w}" y1="{top + 1}" y2="{top + 21}" class="due"/>'
        )
        said = labels.get("taken_of", "{taken} / {allowed}").format(
            taken=span(taken), allowed=b.allowed or span(allowed)
        )
        parts.append(f'<text x="{left + allowed_w * 1.5 + 10}" y="{top + 15}" class="axis">{escape(said)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
