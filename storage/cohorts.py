"""Join cohorts in SQL: who joined when, how far each got, and who kept posting.

A member's cohort is the month they joined, or for members without a join (imported
communities) the month Pulse first saw them act. Staff and bots belong to no cohort. Steps:
posted (a message, reply or thread), asked (a question), helped (a reply that helped another
member: a help edge), active and hero (a stored tier change into that tier).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import and_, case, distinct, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from community.events import day_number
from community.outcomes import CohortMember
from community.tiers import Tier
from storage.members import eligible_members
from storage.models import DailyRollup, HelpEdge, Member, TierChange


def _last_day(end: datetime) -> int:
    """The rollup day holding the last moment before END."""
    return day_number(end - timedelta(microseconds=1))


def _first_seen(space_id: int, last_day: int):
    """Each member's first rollup day, first posting day and first question day."""
    r = DailyRollup
    return (
        select(
            r.member_id.label("member_id"),
            func.min(r.day).label("seen"),
            func.min(case((r.messages > 0, r.day))).label("posted"),
            func.min(case((r.questions > 0, r.day))).label("asked"),
        )
        .where(r.space_id == space_id, r.day <= last_day)
        .group_by(r.member_id)
        .subquery()
    )


def _bucket(value, bounds: Sequence) -> object:
    """Which of the intervals [BOUNDS[i], BOUNDS[i+1]) VALUE falls in, as SQL (-1: none)."""
    whens = [(value >= bounds[i], literal(i)) for i in range(len(bounds) - 2, -1, -1)]
    return case(*whens, else_=literal(-1))


def _cohort(space_id: int, bounds: Sequence[datetime], seen):
    """The members whose join (or first sighting) falls between BOUNDS[0] and BOUNDS[-1]."""
    days = [day_number(b) for b in bounds]
    joined_in = and_(Member.joined_at >= bounds[0], Member.joined_at < bounds[-1])
    seen_in = and_(
        Member.joined_at.is_(None), seen.c.seen >= days[0], seen.c.seen <= _last_day(bounds[-1])
    )
    index = case(
        (Member.joined_at.is_not(None), _bucket(Member.joined_at, bounds)),
        else_=_bucket(seen.c.seen, days),
    )
    return index, and_(eligible_members(space_id), or_(joined_in, seen_in))


async def cohort_members(
    conn: AsyncConnection, space_id: int, start: datetime, end: datetime
) -> list[CohortMember]:
    """Members who joined (or were first seen) from START to END, with the day of each step."""
    last = _last_day(end)
    seen = _first_seen(space_id, last)
    helped = (
        select(HelpEdge.helper_id.label("member_id"), func.min(HelpEdge.first_day).label("day"))
        .where(HelpEdge.space_id == space_id, HelpEdge.first_day <= last)
        .group_by(HelpEdge.helper_id)
        .subquery()
    )

    def reached(tiers):
        return (
            select(
                TierChange.member_id.label("member_id"),
                func.min(TierChange.changed_at).label("at"),
            )
            .where(
                TierChange.space_id == space_id,
                TierChange.to_tier.in_(tiers),
                TierChange.changed_at < end,
            )
            .group_by(TierChange.member_id)
            .subquery()
        )

    active = reached([Tier.ACTIVE.value, Tier.HERO.value])
    hero = reached([Tier.HERO.value])
    _, in_cohort = _cohort(space_id, [start, end], seen)
    rows = await conn.execute(
        select(
            Member.joined_at,
            seen.c.seen,
            seen.c.posted,
            seen.c.asked,
            helped.c.day,
            active.c.at,
            hero.c.at,
        )
        .select_from(Member)
        .outerjoin(seen, seen.c.member_id == Member.id)
        .outerjoin(helped, helped.c.member_id == Member.id)
        .outerjoin(active, active.c.member_id == Member.id)
        .outerjoin(hero, hero.c.member_id == Member.id)
        .where(in_cohort)
    )
    members = []
    for joined_at, seen_day, posted, asked, helped_day, active_at, hero_at in rows:
        steps = {
            "posted": posted,
            "asked": asked,
            "helped": helped_day,
            "active": None if active_at is None else day_number(active_at),
            "hero": None if hero_at is None else day_number(hero_at),
        }
        joined = day_number(joined_at) if joined_at is not None else seen_day
        members.append(CohortMember(joined_day=joined, steps=steps))
    return members


async def cohort_activity(
    conn: AsyncConnection, space_id: int, bounds: Sequence[datetime]
) -> dict[tuple[int, int], int]:
    """Members of each cohort who posted in each interval: {(cohort, interval): members}.

    Cohort i joined in [BOUNDS[i], BOUNDS[i+1]); interval j is the same split of time.
    """
    days = [day_number(b) for b in bounds]
    last = _last_day(bounds[-1])
    seen = _first_seen(space_id, last)
    index, in_cohort = _cohort(space_id, bounds, seen)
    cohort = (
        select(Member.id.label("member_id"), index.label("cohort"))
        .select_from(Member)
        .outerjoin(seen, seen.c.member_id == Member.id)
        .where(in_cohort)
        .subquery()
    )
    r = DailyRollup
    # Bucketed in a subquery and grouped outside: PostgreSQL would not match a CASE with
    # parameters in GROUP BY to the same CASE in the select list.
    posted = (
        select(cohort.c.cohort, _bucket(r.day, days).label("interval"), r.member_id)
        .select_from(r)
        .join(cohort, cohort.c.member_id == r.member_id)
        .where(r.space_id == space_id, r.messages > 0, r.day >= days[0], r.day <= last)
        .subquery()
    )
    rows = await conn.execute(
        select(
            posted.c.cohort, posted.c.interval, func.count(distinct(posted.c.member_id))
        ).group_by(posted.c.cohort, posted.c.interval)
    )
    return {(int(c), int(i)): int(n) for c, i, n in rows if int(c) >= 0 and int(i) >= 0}
