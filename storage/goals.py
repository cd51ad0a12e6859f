"""Goal figures as they stood at past moments (the rules are `community.goals`)."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from community.digest import split_moves
from community.goals import Goal, GoalMetric, GoalProgress, goal_progress
from community.outcomes import AskedQuestion, ReplyFigures, helper_concentration, reply_figures
from community.tiers import Tier
from storage.cohorts import activation_share, activation_shares, retained_share, retained_shares
from storage.health import asked_questions, daily_answers, day_range
from storage.outreach import outreach_stats
from storage.tier_changes import WEEK, tier_counts_at_moments, tier_moves

GOAL_TREND_WEEKS = 8


MONTH = timedelta(days=30)
# Goals measured on the questions of the 30 days before each moment.
_REPLY_METRICS = (GoalMetric.MEDIAN_TIME_TO_FIRST_REPLY, GoalMetric.ANSWERED_SHARE)
# Goals read from the tier counts at each moment.
TIER_METRICS = (GoalMetric.ACTIVE_MEMBERS, GoalMetric.HEROES)


async def reply_hours(
    conn: AsyncConnection, space_id: int, start: datetime, end: datetime
) -> list[float]:
    """Hours from each question asked between START and END to its first reply by someone else."""
    questions = await asked_questions(conn, space_id, start, end)
    return [q.reply_hours for q in questions if q.reply_hours is not None]


def _reply_figures_at(
    questions: Sequence[AskedQuestion], moments: Sequence[datetime]
) -> dict[datetime, ReplyFigures]:
    """The reply figures of the 30 days before each of MOMENTS, from QUESTIONS of any span."""
    ordered = sorted(questions, key=lambda q: q.asked_at)
    asked = [q.asked_at for q in ordered]
    figures = {}
    for at in moments:
        # A first reply found up to a later moment is AT's first reply too when it came before.
        window = [
            q
            if q.first_reply_at is None or q.first_reply_at < at
            else replace(q, first_reply_at=None)
            for q in ordered[bisect_left(asked, at - MONTH) : bisect_left(asked, at)]
        ]
        figures[at] = reply_figures(None, window)
    return figures


def _reply_value(metric: GoalMetric, figures: ReplyFigures) -> float | None:
    """METRIC from the reply FIGURES of the 30 days before a moment."""
    if metric is GoalMetric.ANSWERED_SHARE:
        return figures.answered_share
    return figures.median_hours


def _concentration(days: Sequence[tuple[int, int, int]], at: datetime) -> float | None:
    """Helper concentration over the rollup days of the 30 days before AT, from DAYS."""
    first, last = day_range(at - MONTH, at)
    totals: dict[int, int] = {}
    for member, day, answers in days:
        if first <= day <= last:
            totals[member] = totals.get(member, 0) + answers
    concentration = helper_concentration(totals.values())
    return None if concentration is None else float(concentration)


async def _outcome_value(
    conn: AsyncConnection, space_id: int, metric: GoalMetric, at: datetime
) -> float | None:
    """The outcomes metrics (community.outcomes), as they stood at AT."""
    if metric in _REPLY_METRICS:
        questions = await asked_questions(conn, space_id, at - MONTH, at)
        return _reply_value(metric, _reply_figures_at(questions, [at])[at])
    if metric is GoalMetric.HELPER_CONCENTRATION:
        return _concentration(await daily_answers(conn, space_id, at - MONTH, at), at)
    if metric is GoalMetric.NEWCOMER_ACTIVATION_RATE:
        return await activation_share(conn, space_id, at - 3 * MONTH, at, at)
    return await retained_share(conn, space_id, at - 2 * MONTH, at - MONTH, at - MONTH, at)


def _tier_value(metric: GoalMetric, counts: Mapping[str, int]) -> float:
    """ACTIVE_MEMBERS or HEROES from the tier COUNTS at a moment."""
    if metric is GoalMetric.HEROES:
        return float(counts[Tier.HERO.value])
    return float(counts[Tier.ACTIVE.value] + counts[Tier.HERO.value])


async def goal_value(
    conn: AsyncConnection, space_id: int, metric: GoalMetric, at: datetime
) -> float | None:
    """The figure METRIC measures, as it stood at AT."""
    month = timedelta(days=30)
    if metric in TIER_METRICS:
        return _tier_value(metric, (await tier_counts_at_moments(conn, space_id, [at]))[0])
    if metric is GoalMetric.CONVERSIONS_PER_MONTH:
        up, _ = split_moves(await tier_moves(conn, space_id, at - month, at))
        return float(len(up))
    if metric is GoalMetric.RE_ENGAGEMENT_RATE:
        stats = await outreach_stats(conn, space_id, at - timedelta(days=90), at, as_of=at)
        return stats.rate
    return await _outcome_value(conn, space_id, metric, at)


async def goal_samples(
    conn: AsyncConnection,
    space_id: int,
    metric: GoalMetric,
    moments: Sequence[datetime],
    *,
    tier_counts: Mapping[datetime, Mapping[str, int]] | None = None,
    replies: Mapping[datetime, ReplyFigures] | None = None,
) -> list[tuple[datetime, float | None]]:
    """METRIC's figure at each of MOMENTS (oldest first), as goal_value gives it.

    TIER_COUNTS and REPLIES (each by moment) are what several goals read, when the caller has
    them already.
    """
    if metric in TIER_METRICS:
        if tier_counts is None:
            tier_counts = await tier_counts_by_moment(conn, space_id, moments)
        return [(m, _tier_value(metric, tier_counts[m])) for m in moments]
    if metric is GoalMetric.CONVERSIONS_PER_MONTH:
        # One read of the moves of every window instead of one per moment.
        moves = await tier_moves(conn, space_id, moments[0] - MONTH, moments[-1])
        return [
            (m, float(len(split_moves([x for x in moves if m - MONTH <= x.at < m])[0])))
            for m in moments
        ]
    if metric is GoalMetric.NEWCOMER_ACTIVATION_RATE:
        return list(
            zip(moments, await activation_shares(conn, space_id, moments, 3 * MONTH), strict=True)
        )
    if metric is GoalMetric.COHORT_RETENTION_30D:
        return list(
            zip(moments, await retained_shares(conn, space_id, moments, MONTH), strict=True)
        )
    if metric in _REPLY_METRICS:
        if replies is None:
            replies = await _replies_by_moment(conn, space_id, moments)
        return [(m, _reply_value(metric, replies[m])) for m in moments]
    if metric is GoalMetric.HELPER_CONCENTRATION:
        days = await daily_answers(conn, space_id, moments[0] - MONTH, moments[-1])
        return [(m, _concentration(days, m)) for m in moments]
    return [(m, await goal_value(conn, space_id, metric, m)) for m in moments]


async def _replies_by_moment(
    conn: AsyncConnection, space_id: int, moments: Sequence[datetime]
) -> dict[datetime, ReplyFigures]:
    """The reply figures at each of MOMENTS: one read of the questions of every window."""
    questions = await asked_questions(conn, space_id, moments[0] - MONTH, moments[-1])
    return _reply_figures_at(questions, moments)


async def tier_counts_by_moment(
    conn: AsyncConnection, space_id: int, moments: Sequence[datetime]
) -> dict[datetime, dict[str, int]]:
    """Members per tier at each of MOMENTS, by moment."""
    counts = await tier_counts_at_moments(conn, space_id, moments)
    return dict(zip(moments, counts, strict=True))


def goal_moments(now: datetime) -> list[datetime]:
    """The moments a goal's trend is sampled at: weekly over the 8 weeks to NOW, oldest first."""
    return [now - back * WEEK for back in range(GOAL_TREND_WEEKS, -1, -1)]


async def goals_progress(
    conn: AsyncConnection,
    space_id: int,
    goals: Sequence[Goal],
    now: datetime,
    tier_counts: Mapping[datetime, Mapping[str, int]] | None = None,
) -> list[GoalProgress]:
    """Each goal's current figure and verdict, from its weekly figures over the last 8 weeks.

    Goals that read the same figures share one read of them: the tier counts at every moment
    (TIER_COUNTS, when the caller has them already) and the reply figures at every moment.
    """
    moments = goal_moments(now)
    metrics = {goal.metric for goal in goals}
    if tier_counts is None and metrics & set(TIER_METRICS):
        tier_counts = await tier_counts_by_moment(conn, space_id, moments)
    replies = None
    if metrics & set(_REPLY_METRICS):
        replies = await _replies_by_moment(conn, space_id, moments)
    progress = []
    for goal in goals:
        samples = await goal_samples(
            conn, space_id, goal.metric, moments, tier_counts=tier_counts, replies=replies
        )
        progress.append(goal_progress(goal, samples, now))
    return progress
