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

from sqlalchemy import Integer, and_, case, distinct, exists, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from community.events import day_number
from community.outcomes import CohortMember
from community.tiers import Tier
from storage.members import eligible_members
from storage.models import DailyRollup, HelpEdge, Member, TierChange
from storage.moments import rows_table
from storage.types import UTCDateTime


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


async def _shares(
    conn: AsyncConnection,
    space_id: int,
    windows: Sequence[tuple[datetime, datetime, datetime, datetime]],
    reached,
) -> list[float | None]:
    """For each window (START, END, SINCE, AT), the share of its cohort REACHED(window) accepts.

    The cohort of a window: the members who joined (or were first seen) from START to END, as
    `_cohort` has it; one statement for every window.
    """
    r = DailyRollup
    w = rows_table(
        [
            ("start", UTCDateTime()),
            ("end", UTCDateTime()),
            ("first_day", Integer()),
            ("last_day", Integer()),
            ("at", UTCDateTime()),
            ("since_day", Integer()),
            ("at_day", Integer()),
        ],
        [
            (start, end, day_number(start), _last_day(end), at, day_number(since), _last_day(at))
            for start, end, since, at in windows
        ],
    )
    joined_in = and_(Member.joined_at >= w.c.start, Member.joined_at < w.c.end)
    first_seen_in = and_(
        Member.joined_at.is_(None),
        exists().where(r.member_id == Member.id, r.day >= w.c.first_day, r.day <= w.c.last_day),
        ~exists().where(r.member_id == Member.id, r.day < w.c.first_day),
    )
    # Members no window can hold are left out before members are paired with windows.
    starts, ends = [x[0] for x in windows], [x[1] for x in windows]
    may_join = or_(
        Member.joined_at.is_(None),
        and_(Member.joined_at >= min(starts), Member.joined_at < max(ends)),
    )
    rows = await conn.execute(
        select(w.c.k, func.count(), func.count(case((reached(w), literal(1)))))
        .select_from(Member)
        .join(w, or_(joined_in, first_seen_in))
        .where(eligible_members(space_id), may_join)
        .group_by(w.c.k)
    )
    shares: list[float | None] = [None] * len(windows)
    for k, size, count in rows:
        shares[int(k)] = count / size if size else None
    return shares


async def activation_shares(
    conn: AsyncConnection, space_id: int, moments: Sequence[datetime], span: timedelta
) -> list[float | None]:
    """activation_share(at - SPAN, at, at) at each of MOMENTS, in one statement."""

    def reached(w):
        return exists().where(
            TierChange.member_id == Member.id,
            TierChange.to_tier.in_([Tier.ACTIVE.value, Tier.HERO.value]),
            TierChange.changed_at < w.c.at,
        )

    return await _shares(conn, space_id, [(at - span, at, at, at) for at in moments], reached)


async def retained_shares(
    conn: AsyncConnection, space_id: int, moments: Sequence[datetime], month: timedelta
) -> list[float | None]:
    """retained_share(at - 2 MONTH, at - MONTH, at - MONTH, at) at each of MOMENTS, at once."""

    def posted(w):
        r = DailyRollup
        return exists().where(
            r.member_id == Member.id,
            r.messages > 0,
            r.day >= w.c.since_day,
            r.day <= w.c.at_day,
        )

    windows = [(at - 2 * month, at - month, at - month, at) for at in moments]
    return await _shares(conn, space_id, windows, posted)
