"""The staff digest's chart: weekly active members per tier, as a PNG, drawn headless."""

from __future__ import annotations

import io
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


def member_activity_svg(weeks: list[tuple[datetime, int]]) -> bytes:
    """One member's messages per week (oldest first) as an SVG bar chart."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(8, 2.6), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    values = [count for _, count in weeks]
    ax.bar(range(len(values)), values, color=TIER_COLORS["active"], width=0.8)
    ticks = list(range(0, len(weeks), 4))
    ax.set_xticks(ticks, [f"{weeks[i][0]:%b %d}" for i in ticks], rotation=45, ha="right",
                  fontsize=8)  # fmt: skip
    ax.yaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    ax.set_ylim(0, max(max(values, default=0), 1))
    ax.set_ylabel("messages")
    ax.set_title("Messages per week, last 52 weeks", fontsize=10)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="svg")
    return out.getvalue()
