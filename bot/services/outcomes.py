"""Outcomes for one space: help health over recent weeks, join cohorts over recent months.

What `pulse health`, `pulse report`, `/community-stats`, the staff digest and the dashboard
read; each opens its own read of the unit of work.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from community.outcomes import CohortReport, HelpHealth, compose_cohorts, month_bounds
from community.policies import Policies
from storage.cohorts import cohort_activity, cohort_members
from storage.health import help_health
from storage.uow import UnitOfWork


async def health_over(
    uow: UnitOfWork, policies: Policies, space_id: int, end: datetime, weeks: int = 4
) -> HelpHealth:
    """Help health over the WEEKS weeks before END, per channel and overall."""
    async with uow.read() as conn:
        return await help_health(
            conn,
            space_id,
            end - timedelta(weeks=weeks),
            end,
            unanswered_hours=policies.unanswered_hours,
            attention_limit=policies.digest.staff_list_limit,
        )


async def cohorts_over(
    uow: UnitOfWork, space_id: int, end: datetime, months: int = 6
) -> CohortReport:
    """Funnel and retention of the join cohorts of the MONTHS calendar months up to END's."""
    bounds = month_bounds(end, months)
    async with uow.read() as conn:
        members = await cohort_members(conn, space_id, bounds[0], bounds[-1])
        posted = await cohort_activity(conn, space_id, bounds)
    return compose_cohorts(bounds, members, posted)
