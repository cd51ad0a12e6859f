"""Goals staff set (OKRs) and whether the community is on track to meet them."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta


class GoalMetric(enum.StrEnum):
    """What a goal measures."""

    ACTIVE_MEMBERS = "active_members"  # members in the active or hero tier
    HEROES = "heroes"  # members in the hero tier
    CONVERSIONS_PER_MONTH = "conversions_per_month"  # promotions in the last 30 days
    RE_ENGAGEMENT_RATE = "re_engagement_rate"  # 0..1, decided reach-outs of the last 90 days
    MEDIAN_TIME_TO_FIRST_REPLY = "median_time_to_first_reply"  # hours, last 30 days
    # Outcomes (community.outcomes): fractions 0..1 except the concentration, a member count.
    ANSWERED_SHARE = "answered_share"  # questions of the last 30 days answered
    NEWCOMER_ACTIVATION_RATE = "newcomer_activation_rate"  # joined in 90 days, reached active
    COHORT_RETENTION_30D = "cohort_retention_30d"  # joined 60-30 days ago, posted in last 30
    HELPER_CONCENTRATION = "helper_concentration"  # fewest members giving half the answers

    @classmethod
    def _missing_(cls, value):
        # The outcomes issue's name for the reply-time goal: the same metric.
        return cls.MEDIAN_TIME_TO_FIRST_REPLY if value == "median_first_reply_hours" else None

    @property
    def lower_is_better(self) -> bool:
        """Whether the goal is to bring the figure down (reply time) rather than up."""
        return self is GoalMetric.MEDIAN_TIME_TO_FIRST_REPLY

    @property
    def is_fraction(self) -> bool:
        """Whether the figure is a share from 0 to 1 (shown as a percentage)."""
        return self in FRACTIONS

    @property
    def label(self) -> str:
        """How people call the metric."""
        return _LABELS[self]

    def format(self, value: float | None) -> str:
        """The figure as staff read it: '42', '35%', '3.5 h'."""
        if value is None:
            return "n/a"
        if self.is_fraction:
            return f"{value:.0%}"
        if self is GoalMetric.MEDIAN_TIME_TO_FIRST_REPLY:
            return f"{value:.1f} h"
        return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


_LABELS = {
    GoalMetric.ACTIVE_MEMBERS: "Active members",
    GoalMetric.HEROES: "Heroes",
    GoalMetric.CONVERSIONS_PER_MONTH: "Conversions per month",
    GoalMetric.RE_ENGAGEMENT_RATE: "Re-engagement rate",
    GoalMetric.MEDIAN_TIME_TO_FIRST_REPLY: "Median time to first reply",
    GoalMetric.ANSWERED_SHARE: "Questions answered",
    GoalMetric.NEWCOMER_ACTIVATION_RATE: "Newcomers who became active",
    GoalMetric.COHORT_RETENTION_30D: "Newcomers still posting after 30 days",
    GoalMetric.HELPER_CONCENTRATION: "Members giving half the answers",
}
FRACTIONS = frozenset(
    {
        GoalMetric.RE_ENGAGEMENT_RATE,
        GoalMetric.ANSWERED_SHARE,
        GoalMetric.NEWCOMER_ACTIVATION_RATE,
        GoalMetric.COHORT_RETENTION_30D,
    }
)


class GoalStatus(enum.StrEnum):
    """Where a goal stands."""

    MET = "met"  # the current figure already meets the target
    ON_TRACK = "on track"  # the trend reaches the target by the date
    OFF_TRACK = "off track"  # the trend does not reach it in time
    MISSED = "missed"  # the date passed without meeting it
    NO_TREND = "not enough history"  # too few figures to draw a trend
    NO_DATA = "no data"  # nothing to measure yet (no reach-outs, no replies)


@dataclass(frozen=True, slots=True)
class Goal:
    """A target for one metric by a date; built from one `[[goals]]` entry."""

    metric: GoalMetric
    target: float
    by: date
    name: str | None = None

    @property
    def title(self) -> str:
        """The goal's name, or a generated one."""
        return self.name or self.metric.label

    @property
    def deadline(self) -> datetime:
        """The end of the goal's date, in UTC."""
        return datetime.combine(self.by, time(), tzinfo=UTC) + timedelta(days=1)

    def met_by(self, value: float) -> bool:
        """Whether VALUE meets the target."""
        if self.metric.lower_is_better:
            return value <= self.target
        return value >= self.target


@dataclass(frozen=True, slots=True)
class GoalProgress:
    """A goal with its current figure, the figure the trend projects for the date, and a verdict."""

    goal: Goal
    current: float | None
    projected: float | None
    status: GoalStatus

    @property
    def on_track(self) -> bool:
        """Whether the goal is met or the trend gets there in time."""
        return self.status in (GoalStatus.MET, GoalStatus.ON_TRACK)

    def summary(self) -> str:
        """One line: 'Active members: 46 now, target 60 by 2026-12-31: on track (trend: 63)'."""
        metric = self.goal.metric
        text = (
            f"{self.goal.title}: {metric.format(self.current)} now, target "
            f"{metric.format(self.goal.target)} by {self.goal.by.isoformat()}: {self.status.value}"
        )
        trending = self.status in (GoalStatus.ON_TRACK, GoalStatus.OFF_TRACK)
        if self.projected is not None and trending:
            text += f" (trend: {metric.format(self.projected)})"
        return text


def linear_projection(samples: Sequence[tuple[datetime, float]], at: datetime) -> float | None:
    """The least-squares line through SAMPLES, evaluated at AT; None with fewer than two moments."""
    if len({when for when, _ in samples}) < 2:
        return None
    origin = samples[0][0]
    xs = [(when - origin).total_seconds() / 86400 for when, _ in samples]
    ys = [value for _, value in samples]
    mean_x = sum(xs) / len(xs)
    mean_y = sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread
    return mean_y + slope * ((at - origin).total_seconds() / 86400 - mean_x)


def goal_progress(
    goal: Goal, samples: Sequence[tuple[datetime, float | None]], now: datetime
) -> GoalProgress:
    """Judge GOAL from its figure sampled over time (oldest first, the last one being NOW's)."""
    known = [(when, value) for when, value in samples if value is not None]
    current = samples[-1][1] if samples else None
    if current is None:
        return GoalProgress(goal=goal, current=None, projected=None, status=GoalStatus.NO_DATA)
    if now >= goal.deadline:
        status = GoalStatus.MET if goal.met_by(current) else GoalStatus.MISSED
        return GoalProgress(goal=goal, current=current, projected=None, status=status)
    projected = linear_projection(known, goal.deadline)
    if projected is not None and goal.metric.is_fraction:
        projected = min(max(projected, 0.0), 1.0)
    elif projected is not None:
        projected = max(projected, 0.0)
    if goal.met_by(current):
        status = GoalStatus.MET
    elif projected is None:
        status = GoalStatus.NO_TREND
    else:
        status = GoalStatus.ON_TRACK if goal.met_by(projected) else GoalStatus.OFF_TRACK
    return GoalProgress(goal=goal, current=current, projected=projected, status=status)
