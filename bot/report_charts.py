"""The leadership report's charts (funnel, retention heatmap, goals) in the digest chart's style."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import date

from bot.chart import TIER_COLORS
from community.goals import GoalProgress
from community.outcomes import FUNNEL_STEPS, CohortReport

MUTED = "#6b7280"


def _figure(width: float, height: float):
    # As bot/chart.py: Figure on the Agg canvas, no pyplot, imported only when drawing.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _png(fig) -> bytes:
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()


def _empty(ax, message: str) -> None:
    ax.text(0.5, 0.5, message, transform=ax.transAxes, ha="center", va="center",
            fontsize=12, color=MUTED)  # fmt: skip
    ax.set_xticks([])
    ax.set_yticks([])


def tiers_chart(weeks: Sequence[tuple[date, Mapping[str, int]]]) -> bytes:
    """Active members and heroes at the end of each week (passive members are the rest)."""
    from matplotlib.ticker import MaxNLocator

    fig = _figure(8, 3.6)
    ax = fig.add_subplot()
    days = [d for d, _ in weeks]
    for tier in ("active", "hero"):
        ax.plot(days, [counts.get(tier, 0) for _, counts in weeks], marker="o", markersize=3,
                color=TIER_COLORS[tier], label=tier)  # fmt: skip
    ax.yaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    if any(counts.get(t, 0) for _, counts in weeks for t in ("active", "hero")):
        ax.set_ylim(bottom=0)
    else:
        # As the digest's chart: a 0..1 axis and a note, not a flat line on a collapsed axis.
        ax.set_ylim(0, 1)
        ax.text(0.5, 0.5, "no active members or heroes in these weeks", transform=ax.transAxes,
                ha="center", va="center", fontsize=12, color=MUTED)  # fmt: skip
    ax.set_ylabel("members")
    fig.autofmt_xdate()
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    ax.set_title("Active members and heroes over time (members per tier at week ends)", fontsize=11)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def funnel_chart(cohorts: CohortReport) -> bytes:
    """All cohorts together: how many joined, posted, asked, helped, became active and heroes."""
    fig = _figure(8, 3.6)
    ax = fig.add_subplot()
    joined = sum(f.joined for f in cohorts.funnels)
    counts = [joined] + [sum(f.step(s).count for f in cohorts.funnels) for s in FUNNEL_STEPS]
    labels = ["joined", *FUNNEL_STEPS]
    if not joined:
        _empty(ax, "nobody joined in these months")
    else:
        colors = [TIER_COLORS["passive"]] * 4 + [TIER_COLORS["active"], TIER_COLORS["hero"]]
        positions = range(len(labels))
        ax.barh(list(positions), counts, color=colors)
        ax.set_yticks(list(positions), labels)
        ax.invert_yaxis()
        for y, n in zip(positions, counts, strict=True):
            ax.text(n, y, f" {n} ({n / joined:.0%})", va="center", fontsize=9)
        ax.set_xlim(0, max(counts) * 1.25)
        ax.set_xlabel("members")
    ax.set_title("Newcomer funnel: members who joined in these months", fontsize=11)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def retention_chart(cohorts: CohortReport) -> bytes:
    """A heatmap: each join month's share of members who posted in each following month."""
    rows = cohorts.retention
    width = max((len(r.active) for r in rows), default=0)
    fig = _figure(8, 1.2 + 0.45 * max(len(rows), 1))
    ax = fig.add_subplot()
    if not rows or not any(r.size for r in rows):
        _empty(ax, "no cohorts in these months")
    else:
        nan = float("nan")
        grid = [
            [s if s is not None else nan for s in r.shares] + [nan] * (width - len(r.active))
            for r in rows
        ]
        ax.imshow(grid, cmap="Blues", vmin=0, vmax=1, aspect="auto")
        for y, r in enumerate(rows):
            for x, share in enumerate(r.shares):
                if share is not None:
                    ax.text(x, y, f"{share:.0%}", ha="center", va="center", fontsize=8,
                            color="white" if share > 0.6 else "black")  # fmt: skip
        ax.set_xticks(range(width), [f"+{m}" for m in range(width)])
        ax.set_yticks(range(len(rows)), [f"{r.month:%b %Y} ({r.size})" for r in rows])
        ax.set_xlabel("months after joining (+0: the join month)")
    ax.set_title("Retention: share of each join cohort posting each month", fontsize=11)
    return _png(fig)


def goals_chart(goals: Sequence[GoalProgress]) -> bytes:
    """Each goal's current figure as a share of the way to its target."""
    fig = _figure(8, 1.2 + 0.5 * max(len(goals), 1))
    ax = fig.add_subplot()
    shares = []
    for g in goals:
        if g.current is None:
            shares.append(0.0)
        elif g.goal.metric.lower_is_better:
            shares.append(min(g.goal.target / g.current, 1.0) if g.current else 1.0)
        else:
            shares.append(min(g.current / g.goal.target, 1.0) if g.goal.target else 1.0)
    colors = [TIER_COLORS["active"] if g.on_track else TIER_COLORS["hero"] for g in goals]
    positions = list(range(len(goals)))
    ax.barh(positions, shares, color=colors)
    ax.set_yticks(positions, [g.goal.title for g in goals], fontsize=8)
    ax.invert_yaxis()
    for y, g in zip(positions, goals, strict=True):
        ax.text(1.01, y, f"{g.goal.metric.format(g.current)} / "
                f"{g.goal.metric.format(g.goal.target)}: {g.status.value}",
                va="center", fontsize=8, transform=ax.get_yaxis_transform())  # fmt: skip
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of the way to the target")
    ax.set_title("Goals", fontsize=11)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)
