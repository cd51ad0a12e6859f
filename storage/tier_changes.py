"""Reads of the stored tier changes: tiers at a past moment, moves in a span, the weekly chart."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from community.digest import TierMove, WeeklyTierCounts
from community.events import day_number, day_start
from community.tiers import Tier
from storage.members import eligible_members, member_ref
from storage.models import DailyRollup, Member, TierAssignment, TierChange

WEEK = timedelta(days=7)


CHART_WEEKS = 12


def _first_changes_after(space_id: int, moment: datetime):
    """Subquery (member_id, from_tier): where each member's first tier change after MOMENT began.

    That is the tier they held at MOMENT (None: not classified yet). Members with no change
    since MOMENT hold the same tier now as then, so only these rows differ from today's counts.
    """
    firsts = (
        select(TierChange.member_id, func.min(TierChange.changed_at).label("at"))
        .where(TierChange.space_id == space_id, TierChange.changed_at > moment)
        .group_by(TierChange.member_id)
        .subquery()
    )
    return (
        select(TierChange.member_id, func.max(TierChange.from_tier).label("from_tier"))
        .join(
            firsts,
            and_(TierChange.member_id == firsts.c.member_id, TierChange.changed_at == firsts.c.at),
        )
        .group_by(TierChange.member_id)
        .subquery()
    )


async def _rewind(conn: AsyncConnection, counts: dict[str, int], prior_query) -> dict[str, int]:
    """Move members in PRIOR_QUERY's rows (from_tier, tier now, n) back to their earlier tier."""
    for from_tier, now_tier, n in await conn.execute(prior_query):
        counts[now_tier] -= n
        counts[from_tier or Tier.PASSIVE.value] += n
    return counts


async def tier_counts_at(conn: AsyncConnection, space_id: int, moment: datetime) -> dict[str, int]:
    """Members per tier as they stood at MOMENT (members who had joined and not yet left).

    Today's counts, corrected for the members whose tier changed since: a group-by over the
    assignments plus one over the (few) changes, never a lookup per member.
    """
    present = (
        eligible_members(space_id),
        or_(Member.left_at.is_(None), Member.left_at > moment),
        or_(Member.joined_at.is_(None), Member.joined_at <= moment),
    )
    counts = dict.fromkeys((t.value for t in Tier), 0)
    rows = await conn.execute(
        select(TierAssignment.tier, func.count())
        .join(Member, Member.id == TierAssignment.member_id)
        .where(TierAssignment.space_id == space_id, *present)
        .group_by(TierAssignment.tier)
    )
    counts.update(dict(rows.all()))
    prior = _first_changes_after(space_id, moment)
    return await _rewind(
        conn,
        counts,
        select(prior.c.from_tier, TierAssignment.tier, func.count())
        .join(TierAssignment, TierAssignment.member_id == prior.c.member_id)
        .join(Member, Member.id == prior.c.member_id)
        .where(*present)
        .group_by(prior.c.from_tier, TierAssignment.tier),
    )


async def tier_moves(
    conn: AsyncConnection, space_id: int, start: datetime, end: datetime
) -> list[TierMove]:
    """Tier changes between START and END, oldest first."""
    rows = await conn.execute(
        select(
            Member.id,
            Member.platform_id,
            Member.display_name,
            TierChange.from_tier,
            TierChange.to_tier,
            TierChange.changed_at,
        )
        .join(Member, Member.id == TierChange.member_id)
        .where(
            TierChange.space_id == space_id,
            TierChange.changed_at >= start,
            TierChange.changed_at < end,
            eligible_members(space_id),
        )
        .order_by(TierChange.changed_at, TierChange.id)
    )
    return [
        TierMove(member=member_ref(r), from_tier=r.from_tier, to_tier=r.to_tier, at=r.changed_at)
        for r in rows
    ]


async def weekly_active_by_tier(
    conn: AsyncConnection, space_id: int, end: datetime, weeks: int = CHART_WEEKS
) -> WeeklyTierCounts:
    """Members active in each of the WEEKS weeks before END, by the tier they held at its end."""
    r = DailyRollup
    starts, per_tier = [], {t.value: [] for t in Tier}
    for back in range(weeks - 1, -1, -1):
        week_end = end - back * WEEK
        last = day_number(week_end)
        engaged = and_(r.day >= last - 7, r.day < last, or_(r.messages > 0, r.contributions > 0))
        active = select(r.member_id).distinct().where(r.space_id == space_id, engaged).subquery()
        tier = func.coalesce(TierAssignment.tier, Tier.PASSIVE.value)
        counts = dict.fromkeys((t.value for t in Tier), 0)
        rows = await conn.execute(
            select(tier, func.count())
            .select_from(active)
            .join(Member, Member.id == active.c.member_id)
            .outerjoin(TierAssignment, TierAssignment.member_id == active.c.member_id)
            .where(eligible_members(space_id))
            .group_by(tier)
        )
        counts.update(dict(rows.all()))
        prior = _first_changes_after(space_id, week_end)
        was_active = exists().where(r.member_id == prior.c.member_id, engaged)
        await _rewind(
            conn,
            counts,
            select(prior.c.from_tier, TierAssignment.tier, func.count())
            .join(TierAssignment, TierAssignment.member_id == prior.c.member_id)
            .join(Member, Member.id == prior.c.member_id)
            .where(eligible_members(space_id), was_active)
            .group_by(prior.c.from_tier, TierAssignment.tier),
        )
        starts.append(day_start(last - 7).date())
        for name, values in per_tier.items():
            values.append(counts[name])
    return WeeklyTierCounts(
        week_starts=tuple(starts), counts={k: tuple(v) for k, v in per_tier.items()}
    )
