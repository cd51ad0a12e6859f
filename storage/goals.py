"""Goal figures as they stood at past moments (the rules are `community.goals`)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from community.digest import split_moves
from community.goals import Goal, GoalMetric, GoalProgress, goal_progress
from community.outcomes import helper_concentration, rate, reply_figures
from community.tiers import Tier
from storage.cohorts import cohort_activity, cohort_members
from storage.health import answers_by_helper, asked_questions
from storage.outreach import outreach_stats
from storage.tier_changes import WEEK, tier_counts_at, tier_moves

GOAL_TREND_WEEKS = 8


async def reply_hours(
    conn: AsyncConnection, space_id: int, start: datetime, end: datetime
) -> list[float]:
    """Hours from each question asked between START and END to its first reply by someone else."""
    questions = await asked_questions(conn, space_id, start, end)
    return [q.reply_hours for q in questions if q.reply_hours is not None]


async def _outcome_value(
    conn: AsyncConnection, space_id: int, metric: GoalMetric, at: datetime
) -> float | None:
    """The outcomes metrics (community.outcomes), as they stood at AT."""
    month = timedelta(days=30)
    if metric is GoalMetric.ANSWERED_SHARE:
        figures = reply_figures(None, await asked_questions(conn, space_id, at - month, at))
        return figures.answered_share
    if metric is GoalMetric.HELPER_CONCENTRATION:
        helpers = await answers_by_helper(conn, space_id, at - month, at)
        concentration = helper_concentration(h.answers for h in helpers)
        return None if concentration is None else float(concentration)
    if metric is GoalMetric.NEWCOMER_ACTIVATION_RATE:
        members = await cohort_members(conn, space_id, at - 3 * month, at)
        return rate(sum(1 for m in members if m.steps["active"] is not None), len(members))
    bounds = [at - 2 * month, at - month, at]
    size = len(await cohort_members(conn, space_id, bounds[0], bounds[1]))
    posted = await cohort_activity(conn, space_id, bounds)
    return rate(posted.get((0, 1), 0), size)


async def goal_value(
    conn: AsyncConnection, space_id: int, metric: GoalMetric, at: datetime
) -> float | None:
    """The figure METRIC measures, as it stood at AT."""
    month = timedelta(days=30)
    if metric in (GoalMetric.ACTIVE_MEMBERS, GoalMetric.HEROES):
        counts = await tier_counts_at(conn, space_id, at)
        if metric is GoalMetric.HEROES:
            return float(counts[Tier.HERO.value])
        return float(counts[Tier.ACTIVE.value] + counts[Tier.HERO.value])
    if metric is GoalMetric.CONVERSIONS_PER_MONTH:
        up, _ = split_moves(await tier_moves(conn, space_id, at - month, at))
        return float(len(up))
    if metric is GoalMetric.RE_ENGAGEMENT_RATE:
        stats = await outreach_stats(conn, space_id, at - timedelta(days=90), at, as_of=at)
        return stats.rate
    if metric is GoalMetric.MEDIAN_TIME_TO_FIRST_REPLY:
        hours = await reply_hours(conn, space_id, at - month, at)
        return statistics.median(hours) if hours else None
    return await _outcome_value(conn, space_id, metric, at)


async def goals_progress(
    conn: AsyncConnection, space_id: int, goals: Sequence[Goal], now: datetime
) -> list[GoalProgress]:
    """Each goal's current figure and verdict, from its weekly figures over the last 8 weeks."""
    progress = []
    for goal in goals:
        moments = [now - back * WEEK for back in range(GOAL_TREND_WEEKS, -1, -1)]
        samples = [(m, await goal_value(conn, space_id, goal.metric, m)) for m in moments]
        progress.append(goal_progress(goal, samples, now))
    return progress
