"""The staff digest's chart: whole members on the y axis, and a word when there is nothing."""

from datetime import date, timedelta

import pytest

from bot.chart import weekly_active_chart, weekly_active_figure
from community.digest import WeeklyTierCounts

WEEKS = tuple(date(2026, 9, 7) + timedelta(weeks=i) for i in range(12))
TIERS = ("hero", "active", "passive")


def counts(**per_tier) -> WeeklyTierCounts:
    return WeeklyTierCounts(WEEKS, {t: tuple(per_tier.get(t, (0,) * 12)) for t in TIERS})


def y_axis(weekly: WeeklyTierCounts) -> tuple[list[float], tuple[float, float], list[str]]:
    fig = weekly_active_figure(weekly)
    fig.canvas.draw()
    ax = fig.axes[0]
    low, high = ax.get_ylim()
    shown = [t for t in ax.get_yticks() if low <= t <= high]
    return shown, (low, high), [t.get_text() for t in ax.texts]


@pytest.mark.parametrize(
    "weekly",
    [
        counts(),
        counts(passive=(0,) * 11 + (1,)),
        counts(hero=(0,) * 10 + (1, 2), passive=(0,) * 10 + (1, 1)),
        counts(hero=(3,) * 12, active=range(20, 32), passive=range(100, 112)),
    ],
    ids=["empty", "one", "few", "many"],
)
def test_y_axis_is_whole_members_from_zero(weekly):
    ticks, (low, high), _ = y_axis(weekly)
    assert low == 0
    assert ticks[0] == 0
    assert all(t >= 0 and float(t).is_integer() for t in ticks), ticks
    tallest = max(sum(weekly.counts[t][i] for t in TIERS) for i in range(12))
    assert high >= tallest


def test_empty_chart_says_there_was_no_activity():
    _, _, texts = y_axis(counts())
    assert texts == ["no activity in these weeks"]
    assert y_axis(counts(active=(1,) * 12))[2] == []
    png = weekly_active_chart(counts())
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
