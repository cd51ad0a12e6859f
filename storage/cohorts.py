"""Join cohorts in SQL: who joined when, how far each got, and who kept posting.

A member's cohort is the month they joined, or for members without a join (imported
communities) the month Pulse first saw them act. Staff and bots belong to no cohort. Steps:
posted (a message, reply or thread), asked (a question), helped (a reply that helped another
member: a help edge), active and hero (a stored tier change into that tier).

Each step is a correlated lookup per cohort member through the tables' member-first keys
(rollups by member and day, help edges by helper, tier changes by member and time), so only
the cohort's own rows are read, never a whole-community aggregate.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import and_, case, distinct, exists, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from community.events import day_number
from community.outcomes import CohortMember
from community.tiers import Tier
from storage.members import eligible_members
from storage.models import DailyRollup, HelpEdge, Member, TierChange


def _last_day(end: datetime) -> int:
    """The rollup day holding the last moment before END."""
    return day_number(end - timedelta(microseconds=1))


def _first_day(last_day: int, *conditions):
    """The member's first rollup day up to LAST_DAY meeting CONDITIONS (scalar, correlated)."""
    r = DailyRollup
    return (
        select(func.min(r.day))
        .where(r.member_id == Member.id, r.day <= last_day, *conditions)
        .scalar_subquery()
    )


def _bucket(value, bounds: Sequence) -> object:
    """Which of the intervals [BOUNDS[i], BOUNDS[i+1]) VALUE falls in, as SQL (-1: none)."""
    whens = [(value >= bounds[i], literal(i)) for i in range(len(bounds) - 2, -1, -1)]
    return case(*whens, else_=literal(-1))


def _cohort(space_id: int, bounds: Sequence[datetime]):
    """Which cohort a member is in (SQL), and the condition for being in any of BOUNDS' cohorts."""
    r = DailyRollup
    days = [day_number(b) for b in bounds]
    last = _last_day(bounds[-1])
    joined_in = and_(Member.joined_at >= bounds[0], Member.joined_at < bounds[-1])
    first_seen_in = and_(
        Member.joined_at.is_(None),
        exists().where(r.member_id == Member.id, r.day >= days[0], r.day <= last),
        ~exists().where(r.member_id == Member.id, r.day < days[0]),
    )
    index = case(
        (Member.joined_at.is_not(None), _bucket(Member.joined_at, bounds)),
        else_=_bucket(_first_day(last), days),
    )
    return index, and_(eligible_members(space_id), or_(joined_in, first_seen_in))


def _reached(tiers: Sequence[str], end: datetime):
    """When the member first changed into one of TIERS before END (scalar, correlated)."""
    return (
        select(func.min(TierChange.changed_at))
        .where(
            TierChange.member_id == Member.id,
            TierChange.to_tier.in_(tiers),
            TierChange.changed_at < end,
        )
        .scalar_subquery()
    )


async def cohort_members(
    conn: AsyncConnection, space_id: int, start: datetime, end: datetime
) -> list[CohortMember]:
    """Members who joined (or were first seen) from START to END, with the day of each step."""
    r = DailyRollup
    last = _last_day(end)
    helped = (
        select(func.min(HelpEdge.first_day))
        .where(HelpEdge.helper_id == Member.id, HelpEdge.first_day <= last)
        .scalar_subquery()
    )
    _, in_cohort = _cohort(space_id, [start, end])
    rows = await conn.execute(
        select(
            Member.joined_at,
            case((Member.joined_at.is_(None), _first_day(last)), else_=None),
            _first_day(last, r.messages > 0),
            _first_day(last, r.questions > 0),
            helped,
            _reached([Tier.ACTIVE.value, Tier.HERO.value], end),
            _reached([Tier.HERO.value], end),
        ).where(in_cohort)
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
    index, in_cohort = _cohort(space_id, bounds)
    cohort = select(Member.id.label("member_id"), index.label("cohort")).where(in_cohort).subquery()
    r = DailyRollup
    # Bucketed in a subquery and grouped outside: PostgreSQL would not match a CASE with
    # parameters in GROUP BY to the same CASE in the select list.
    posted = (
        select(cohort.c.cohort, _bucket(r.day, days).label("interval"), r.member_id)
        .select_from(cohort)
        .join(r, r.member_id == cohort.c.member_id)
        .where(r.messages > 0, r.day >= days[0], r.day <= last)
        .subquery()
    )
    rows = await conn.execute(
        select(
            posted.c.cohort, posted.c.interval, func.count(distinct(posted.c.member_id))
        ).group_by(posted.c.cohort, posted.c.interval)
    )
    return {(int(c), int(i)): int(n) for c, i, n in rows if int(c) >= 0 and int(i) >= 0}


async def _cohort_share(
    conn: AsyncConnection, space_id: int, start: datetime, end: datetime, reached
) -> float | None:
    """Of the members who joined (or were first seen) from START to END, the share REACHED."""
    _, in_cohort = _cohort(space_id, [start, end])
    size, count = (
        await conn.execute(
            select(func.count(), func.count(case((reached, literal(1))))).where(in_cohort)
        )
    ).one()
    return count / size if size else None


async def activation_share(
    conn: AsyncConnection, space_id: int, start: datetime, end: datetime, at: datetime
) -> float | None:
    """Of the members who joined from START to END, the share who reached active (or hero) by AT."""
    reached = exists().where(
        TierChange.member_id == Member.id,
        TierChange.to_tier.in_([Tier.ACTIVE.value, Tier.HERO.value]),
        TierChange.changed_at < at,
    )
    return await _cohort_share(conn, space_id, start, end, reached)


async def retained_share(
    conn: AsyncConnection, space_id: int, start: datetime, end: datetime, since: datetime,
    at: datetime,
) -> float | None:  # fmt: skip
    """Of the members who joined from START to END, the share who posted from SINCE to AT."""
    r = DailyRollup
    posted = exists().where(
        r.member_id == Member.id,
        r.messages > 0,
        r.day >= day_number(since),
        r.day <= _last_day(at),
    )
    return await _cohort_share(conn, space_id, start, end, posted)
