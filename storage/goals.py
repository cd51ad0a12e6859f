"""Goal figures as they stood at past moments (the rules are `community.goals`)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased

from community.digest import split_moves
from community.goals import Goal, GoalMetric, GoalProgress, goal_progress
from community.tiers import Tier
from storage.helpgraph import answers_to, not_indexed
from storage.models import Activity
from storage.outreach import outreach_stats
from storage.tier_changes import WEEK, tier_counts_at, tier_moves

GOAL_TREND_WEEKS = 8


async def reply_hours(
    conn: AsyncConnection, space_id: int, start: datetime, end: datetime
) -> list[float]:
    """Hours from each question asked between START and END to its first reply by someone else."""
    q, reply = Activity, aliased(Activity)
    rows = await conn.execute(
        select(q.occurred_at, func.min(reply.occurred_at))
        .join(reply, answers_to(q, reply))
        .where(
            q.space_id == space_id,
            q.is_question.is_(True),
            q.occurred_at >= start,
            q.occurred_at < end,
            not_indexed(reply.occurred_at) < end,
        )
        .group_by(q.id, q.occurred_at)
    )
    return [max((first - asked).total_seconds() / 3600, 0.0) for asked, first in rows]


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
    hours = await reply_hours(conn, space_id, at - month, at)
    return statistics.median(hours) if hours else None


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
