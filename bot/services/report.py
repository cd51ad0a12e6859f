"""The monthly leadership report: every outcome figure for one space, gathered in one read."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.report_charts import funnel_chart, goals_chart, retention_chart, tiers_chart
from community.goals import GoalProgress
from community.outcomes import CohortReport, HelpHealth, compose_cohorts, month_bounds
from community.policies import Policies
from storage.cohorts import cohort_activity, cohort_members
from storage.goals import goals_progress
from storage.health import help_health
from storage.spaces import space_name
from storage.tier_changes import WEEK, tier_counts_at_moments
from storage.uow import UnitOfWork

HEALTH_DAYS = 30
TIER_POINTS = 14


@dataclass(frozen=True, slots=True)
class LeadershipReport:
    """What the report says: tiers, help health, cohorts, goals, as they stood at END."""

    space_name: str
    end: datetime
    months: int
    tiers: dict[str, int]
    # Members per tier at week ends (weekly, or every few weeks over long spans), oldest first.
    tier_weeks: tuple[tuple[date, dict[str, int]], ...]
    health: HelpHealth
    cohorts: CohortReport
    goals: tuple[GoalProgress, ...]


async def gather_report(
    uow: UnitOfWork, policies: Policies, space_id: int, end: datetime, months: int
) -> LeadershipReport:
    """The report's figures for the MONTHS calendar months up to END's (help: last 30 days)."""
    bounds = month_bounds(end, months)
    weeks = round(months * 4.35)
    # At most about 14 points: each past count rewinds the tier changes since, so older
    # points cost more (26 weekly points took 6 s on 100,000 members).
    step = max(1, -(-weeks // TIER_POINTS))
    week_ends = [end - back * WEEK for back in range((weeks - 1) // step * step, -1, -step)]

    async def figures() -> dict:
        async with uow.read() as conn:
            members = await cohort_members(conn, space_id, bounds[0], bounds[-1])
            posted = await cohort_activity(conn, space_id, bounds)
            *weekly, now = await tier_counts_at_moments(conn, space_id, [*week_ends, end])
            return {
                "space_name": await space_name(conn, space_id),
                "tiers": now,
                "tier_weeks": tuple((m.date(), c) for m, c in zip(week_ends, weekly, strict=True)),
                "health": await help_health(
                    conn,
                    space_id,
                    end - timedelta(days=HEALTH_DAYS),
                    end,
                    unanswered_hours=policies.unanswered_hours,
                    attention_limit=policies.digest.staff_list_limit,
                ),
                "cohorts": compose_cohorts(bounds, members, posted),
            }

    async def goals() -> tuple[GoalProgress, ...]:
        if not policies.goals:
            return ()
        async with uow.read() as conn:
            return tuple(await goals_progress(conn, space_id, list(policies.goals), end))

    # The goals' weekly samples cost as much as the rest: on a connection of their own they
    # run beside it (each connection's queries run on a thread of its own).
    found, progress = await asyncio.gather(figures(), goals())
    return LeadershipReport(end=end, months=months, goals=progress, **found)


def draw_charts(report: LeadershipReport) -> dict[str, bytes]:
    """The report's charts as PNG bytes by name (goals only when goals are set)."""
    charts = {
        "tiers": tiers_chart(report.tier_weeks),
        "funnel": funnel_chart(report.cohorts),
        "retention": retention_chart(report.cohorts),
    }
    if report.goals:
        charts["goals"] = goals_chart(report.goals)
    return charts


async def build_report(
    uow: UnitOfWork, policies: Policies, space_id: int, end: datetime, months: int
) -> tuple[LeadershipReport, dict[str, bytes]]:
    """The report's figures and charts (drawn off the event loop)."""
    report = await gather_report(uow, policies, space_id, end, months)
    return report, await asyncio.to_thread(draw_charts, report)
