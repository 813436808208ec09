"""The orders page's chart: shipments per day and status, as geometry for an inline SVG.

Drawn on the server (no script, no chart library in the browser): this module turns counts into
rectangles and labels, the template writes them as SVG elements (escaped like any other text), and
the stylesheet colours them by status.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

# Stacking order, bottom to top: the good news first.
ORDER = ("booked", "queued", "skipped", "needs_attention", "failed", "blocked")
WIDTH, HEIGHT = 720, 160
LEFT, BOTTOM, TOP = 34, 18, 8


@dataclass(frozen=True)
class Bar:
    """One status segment of one day's bar."""

    x: float
    y: float
    width: float
    height: float
    status: str
    title: str


@dataclass(frozen=True)
class Chart:
    """Everything the template draws; ``total`` 0 means there is nothing to show."""

    bars: list[Bar]
    ticks: list[tuple[float, str]]     # x, day label
    peak: int
    total: int
    days: int = 0
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    baseline: int = HEIGHT - BOTTOM
    top: int = TOP


def build(days: Sequence[date], counts: Mapping[tuple[int, str], int]) -> Chart:
    """Stacked bars, one per day, from ``{(day index, status): count}``."""
    per_day = [sum(counts.get((i, st), 0) for st in ORDER) for i in range(len(days))]
    peak = max(per_day, default=0)
    plot_h = HEIGHT - BOTTOM - TOP
    slot = (WIDTH - LEFT) / max(1, len(days))
    bars: list[Bar] = []
    ticks: list[tuple[float, str]] = []
    every = max(1, len(days) // 7)
    for i, day in enumerate(days):
        x = LEFT + i * slot + slot * 0.15
        y = float(HEIGHT - BOTTOM)
        for status in ORDER:
            n = counts.get((i, status), 0)
            if not n or not peak:
                continue
            h = max(1.0, n / peak * plot_h)
            y -= h
            bars.append(Bar(round(x, 1), round(y, 1), round(slot * 0.7, 1), round(h, 1), status,
                            f"{day:%d %b}: {n:,} {status.replace('_', ' ')}"))
        if (len(days) - 1 - i) % every == 0:
            ticks.append((round(x + slot * 0.35, 1), f"{day:%d %b}"))
    return Chart(bars, ticks, peak, sum(per_day), len(days))
