"""Charts as inline SVG, drawn on the server: no JavaScript, nothing fetched from elsewhere.

Every label is escaped here, and only the markup built from escaped text and numbers is marked
safe. A chart is an `<svg role="img">` named by its `<title>` and described by its `<desc>`; the
page puts a visually hidden table with the same numbers under it. The colours all have at least
4.5:1 contrast against the white background, and stacked segments are parted by a white line.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# Ten hues that stay apart, then two greys for the buckets that gather the rest.
PALETTE = (
    "#0a58ca",  # blue
    "#c2410c",  # orange
    "#1a7f37",  # green
    "#be185d",  # pink
    "#6f42c1",  # purple
    "#0e7490",  # teal
    "#8a5300",  # brown
    "#1e3a8a",  # navy
    "#4d7c0f",  # olive
    "#a40e26",  # crimson
)
OTHER_COLOUR = "#6e7781"
NONE_COLOUR = "#3b4049"
TEXT_COLOUR = "#1b1f24"
AXIS_COLOUR = "#57606a"
GRID_COLOUR = "#d0d7de"

FONT = 'font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="12"'
CHART_ID = re.compile(r"[a-z][a-z0-9-]*")
COLOUR = re.compile(r"#[0-9a-fA-F]{6}")

# The stacked chart by day.
DAY_WIDTH = 760
DAY_PLOT = (48, 12, 736, 192)  # left, top, right, bottom (room for the last day label)
LEGEND_COLUMNS = 3
LEGEND_ROW = 20
LEGEND_LABEL_CHARS = 28
DAY_LABELS_WANTED = 10

# The horizontal chart of totals.
TOTALS_WIDTH = 380
TOTALS_LABEL_WIDTH = 165
TOTALS_BAR_WIDTH = 125
TOTALS_ROW = 26
TOTALS_LABEL_CHARS = 25


@dataclass(frozen=True)
class Band:
    """One series of a stacked chart: a count for each day."""

    label: str
    counts: Sequence[int]
    colour: str


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    colour: str


def stacked_bar_chart(
    *, chart_id: str, title: str, description: str, days: Sequence[date], bands: Sequence[Band]
) -> SafeString:
    """One bar per day (a `<g class="bar">` for each day that has any), a segment per band, the
    first band at the bottom; a legend with each band's total underneath."""
    _check(chart_id, [band.colour for band in bands])
    left, top, right, bottom = DAY_PLOT
    day_totals = [sum(band.counts[i] for band in bands) for i in range(len(days))]
    step, axis_max = _axis(max(day_totals, default=0))
    slot = (right - left) / max(len(days), 1)
    bar_width = max(slot * 0.7, 1.0)

    def y(value: float) -> float:
        return bottom - value / axis_max * (bottom - top)

    parts: list[str] = []
    for tick in range(0, axis_max + 1, step):
        parts.append(
            f'<line x1="{left}" x2="{right}" y1="{_n(y(tick))}" y2="{_n(y(tick))}" '
            f'stroke="{GRID_COLOUR}" stroke-width="1"/>'
            f'<text x="{left - 6}" y="{_n(y(tick) + 4)}" text-anchor="end" '
            f'fill="{AXIS_COLOUR}">{tick}</text>'
        )
    every = math.ceil(len(days) / DAY_LABELS_WANTED)
    for i, day in enumerate(days):
        centre = left + slot * (i + 0.5)
        if (len(days) - 1 - i) % every == 0:  # today is always labelled
            parts.append(
                f'<text x="{_n(centre)}" y="{bottom + 16}" text-anchor="middle" '
                f'fill="{AXIS_COLOUR}">{_day(day)}</text>'
            )
        if not day_totals[i]:
            continue
        segments, base = [], 0
        for band in bands:
            value = band.counts[i]
            if not value:
                continue
            segments.append(
                f'<rect x="{_n(centre - bar_width / 2)}" y="{_n(y(base + value))}" '
                f'width="{_n(bar_width)}" height="{_n(y(base) - y(base + value))}" '
                f'fill="{band.colour}" stroke="#fff" stroke-width="0.75">'
                f"<title>{_day(day)}: {escape(band.label)} {value} of {day_totals[i]}</title></rect>"
            )
            base += value
        parts.append(f'<g class="bar" data-day="{day.isoformat()}">{"".join(segments)}</g>')
    parts.append(
        f'<line x1="{left}" x2="{right}" y1="{bottom}" y2="{bottom}" stroke="{AXIS_COLOUR}"/>'
    )
    if not any(day_totals):
        parts.append(_nothing((left + right) / 2, (top + bottom) / 2))

    legend_top = bottom + 36
    column = (DAY_WIDTH - left) / LEGEND_COLUMNS
    for i, band in enumerate(bands):
        x = left + column * (i % LEGEND_COLUMNS)
        row_y = legend_top + LEGEND_ROW * (i // LEGEND_COLUMNS)
        parts.append(
            f'<g class="legend-item"><title>{escape(band.label)}: {sum(band.counts)}</title>'
            f'<rect x="{_n(x)}" y="{row_y - 10}" width="12" height="12" fill="{band.colour}"/>'
            f'<text x="{_n(x + 18)}" y="{row_y}" fill="{TEXT_COLOUR}">'
            f"{escape(_shorten(band.label, LEGEND_LABEL_CHARS))} ({sum(band.counts)})</text></g>"
        )
    legend_rows = math.ceil(len(bands) / LEGEND_COLUMNS)
    height = legend_top + LEGEND_ROW * max(legend_rows - 1, 0) + 10
    return _svg(chart_id, title, description, DAY_WIDTH, height, parts)


def horizontal_bar_chart(
    *, chart_id: str, title: str, description: str, bars: Sequence[Bar]
) -> SafeString:
    """A bar per total, labelled with its count and its share; the description lists them all."""
    _check(chart_id, [bar.colour for bar in bars])
    total = sum(bar.value for bar in bars)
    biggest = max((bar.value for bar in bars), default=0)
    parts: list[str] = []
    for i, bar in enumerate(bars):
        top = 6 + i * TOTALS_ROW
        width = bar.value / biggest * TOTALS_BAR_WIDTH if biggest else 0
        label = escape(f"{bar.value} ({_share(bar.value, total)})")
        parts.append(
            f'<g class="total"><title>{escape(bar.label)}: {label}</title>'
            f'<text x="{TOTALS_LABEL_WIDTH - 8}" y="{top + 13}" text-anchor="end" '
            f'fill="{TEXT_COLOUR}">{escape(_shorten(bar.label, TOTALS_LABEL_CHARS))}</text>'
            f'<rect x="{TOTALS_LABEL_WIDTH}" y="{top}" width="{_n(max(width, 1))}" height="16" '
            f'fill="{bar.colour}"/>'
            f'<text x="{_n(TOTALS_LABEL_WIDTH + width + 6)}" y="{top + 13}" '
            f'fill="{TEXT_COLOUR}">{label}</text></g>'
        )
    height = 12 + TOTALS_ROW * max(len(bars), 1)
    if not bars:
        parts.append(_nothing(TOTALS_WIDTH / 2, height / 2))
    listed = "; ".join(f"{bar.label}: {bar.value} ({_share(bar.value, total)})" for bar in bars)
    full_description = f"{description} {listed}." if listed else description
    return _svg(chart_id, title, full_description, TOTALS_WIDTH, height, parts)


def _svg(
    chart_id: str, title: str, description: str, width: float, height: float, parts: list[str]
) -> SafeString:
    # Every label in `parts` went through escape(); the id and colours through _check().
    return mark_safe(
        f'<svg class="chart" id="{chart_id}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" viewBox="0 0 {_n(width)} {_n(height)}" '
        f'width="{_n(width)}" height="{_n(height)}" xmlns="http://www.w3.org/2000/svg" {FONT}>'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>'
        f"{''.join(parts)}</svg>"
    )


def _check(chart_id: str, colours: Sequence[str]) -> None:
    """The id and colours go into attributes unescaped: allow only what they should look like."""
    if not CHART_ID.fullmatch(chart_id):
        raise ValueError(f"chart id must be lower-case letters, digits and dashes: {chart_id!r}")
    for colour in colours:
        if not COLOUR.fullmatch(colour):
            raise ValueError(f"colour must be #rrggbb: {colour!r}")


def _axis(highest: int) -> tuple[int, int]:
    """A round step (1, 2 or 5 times a power of ten) for at most four gridlines; the axis top."""
    if highest <= 4:
        return 1, max(highest, 1)
    raw = highest / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    return step, step * math.ceil(highest / step)


def _nothing(x: float, y: float) -> str:
    return (
        f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="middle" fill="{AXIS_COLOUR}">'
        "No resends in this period</text>"
    )


def _day(day: date) -> str:
    return f"{day.day} {day:%b}"


def _share(value: int, total: int) -> str:
    if not total:
        return "0%"
    share = value / total * 100
    return "<1%" if 0 < share < 1 else f"{round(share)}%"


def _shorten(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: chars - 1].rstrip() + "…"


def _n(value: float) -> str:
    """A coordinate, short: 12, 12.5, 12.33."""
    return f"{value:.2f}".rstrip("0").rstrip(".")
