"""The staff digest's chart: weekly active members per tier, as a PNG, drawn headless."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime

from community.digest import WeeklyTierCounts

TIER_COLORS = {"hero": "#e8a33d", "active": "#3b82c4", "passive": "#a3aab5"}


def weekly_active_chart(weekly: WeeklyTierCounts, title: str = "") -> bytes:
    """A stacked bar chart of members active each week by tier, as PNG bytes."""
    out = io.BytesIO()
    weekly_active_figure(weekly, title).savefig(out, format="png")
    return out.getvalue()


def weekly_active_figure(weekly: WeeklyTierCounts, title: str = ""):
    """The chart as a matplotlib Figure (drawn on the Agg canvas)."""
    # matplotlib is heavy and only the digest needs it: import here, never at import time.
    # Figure + the Agg canvas directly (no pyplot) keeps global backend state out of it,
    # so drawing in a worker thread while the bot runs is safe.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    labels = [f"{d:%b %d}" for d in weekly.week_starts]
    positions = range(len(labels))
    fig = Figure(figsize=(8, 4), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    bottom = [0] * len(labels)
    for tier in ("passive", "active", "hero"):
        values = list(weekly.counts.get(tier, (0,) * len(labels)))
        ax.bar(positions, values, bottom=bottom, label=tier, color=TIER_COLORS[tier], width=0.7)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_xticks(list(positions), labels, rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("members active that week")
    # Members are whole people: integer ticks from 0, also when every bar is empty (where
    # matplotlib would otherwise centre the axis on 0 and show -0.04 ... 0.04).
    ax.yaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    if any(bottom):
        ax.set_ylim(bottom=0)
    else:
        ax.set_ylim(0, 1)
    if not any(bottom):
        ax.text(0.5, 0.5, "no activity in these weeks", transform=ax.transAxes,
                ha="center", va="center", fontsize=12, color="#6b7280")  # fmt: skip
    ax.set_title(title or "Weekly active members per tier", fontsize=11)
    handles, names = ax.get_legend_handles_labels()
    # Top of the stack first, beside the plot so it never hides a bar.
    ax.legend(handles[::-1], names[::-1], loc="upper left", bbox_to_anchor=(1.01, 1.0),
              fontsize=8, frameon=False)  # fmt: skip
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


def weekly_active_svg(weekly: WeeklyTierCounts, title: str = "") -> bytes:
    """The weekly active members per tier chart as SVG, for the dashboard."""
    out = io.BytesIO()
    weekly_active_figure(weekly, title).savefig(out, format="svg")
    return out.getvalue()


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar of a small inline chart: where it is drawn and what it says on hover."""

    x: float
    y: float
    height: float
    label: str


@dataclass(frozen=True, slots=True)
class BarChart:
    """Bars laid out in a WIDTH x HEIGHT box (SVG units), with the largest value and ticks."""

    width: int
    height: int
    bar_width: float
    peak: int
    bars: tuple[Bar, ...]
    ticks: tuple[tuple[float, str], ...]


def weekly_bars(weeks: list[tuple[datetime, int]], width: int = 780, height: int = 160) -> BarChart:
    """One member's messages per week (oldest first) laid out as bars, drawn by the page itself.

    Fifty-two rectangles need no plotting library: the template draws them as inline SVG, so
    the member page costs no extra request and no drawing time.
    """
    peak = max((count for _, count in weeks), default=0)
    step = width / max(len(weeks), 1)
    bars = []
    for i, (start, count) in enumerate(weeks):
        tall = height * count / peak if peak else 0.0
        noun = "message" if count == 1 else "messages"
        bars.append(
            Bar(
                x=round(i * step, 2),
                y=round(height - tall, 2),
                height=round(tall, 2),
                label=f"week of {start:%Y-%m-%d}: {count} {noun}",
            )
        )
    ticks = tuple((round(i * step, 2), f"{weeks[i][0]:%b %d}") for i in range(0, len(weeks), 8))
    return BarChart(width, height, round(step * 0.8, 2), peak, tuple(bars), ticks)
