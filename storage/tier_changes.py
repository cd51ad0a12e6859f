"""Reads of the stored tier changes: tiers at a past moment, moves in a span, the weekly chart."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import String, and_, case, func, literal, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection

from community.digest import TierMove, WeeklyTierCounts
from community.events import day_number, day_start
from community.tiers import Tier
from storage.members import eligible_members, member_ref
from storage.models import DailyRollup, Member, TierAssignment, TierChange
from storage.moments import rows_table
from storage.types import UTCDateTime

WEEK = timedelta(days=7)


CHART_WEEKS = 12


def _moments(moments: Sequence[datetime]):
    """The MOMENTS as rows (k, at), k their index."""
    return rows_table([("at", UTCDateTime())], [(at,) for at in moments])


def _spans(space_id: int, since: datetime):
    """Subquery (member_id, from_tier, after, until): a tier a member held before a change.

    One row per member and moment of change after SINCE: the member held FROM_TIER (None: not
    classified yet) at every moment from AFTER (their previous change; None: any moment from
    SINCE on) until UNTIL, the change, exclusive. Members with no change since a moment hold the
    same tier now as then, so only these rows differ from today's counts.
    """
    changes = (
        select(
            TierChange.member_id,
            TierChange.changed_at,
            # Several changes stored at one moment count once, under the highest-named tier
            # they came from.
            func.max(TierChange.from_tier).label("from_tier"),
        )
        .where(TierChange.space_id == space_id, TierChange.changed_at > since)
        .group_by(TierChange.member_id, TierChange.changed_at)
        .subquery()
    )
    after = func.lag(changes.c.changed_at).over(
        partition_by=changes.c.member_id, order_by=changes.c.changed_at
    )
    return select(
        changes.c.member_id,
        changes.c.from_tier,
        after.label("after"),
        changes.c.changed_at.label("until"),
    ).subquery()


def _held_at(spans, moment):
    """Whether the member held the span's tier at MOMENT (a column or a value)."""
    return and_(spans.c.until > moment, or_(spans.c.after.is_(None), spans.c.after <= moment))


def _rewind(counts: list[dict[str, int]], rows) -> list[dict[str, int]]:
    """Move members in ROWS (k, from_tier, tier now, n) back to the tier they held at moment k."""
    for k, from_tier, now_tier, n in rows:
        counts[k][now_tier] -= n
        counts[k][from_tier or Tier.PASSIVE.value] += n
    return counts


def _moments_before(column, moments: Sequence[datetime]):
    """How many of MOMENTS come before COLUMN's value, as SQL (0 when it is NULL)."""
    return sum((case((column > at, literal(1)), else_=literal(0)) for at in moments), literal(0))


async def tier_counts_at_moments(
    conn: AsyncConnection, space_id: int, moments: Sequence[datetime]
) -> list[dict[str, int]]:
    """Members per tier at each of MOMENTS (members who had joined and not yet left), in order.

    Today's counts, corrected for the members whose tier changed since: one pass over the
    assignments for every moment at once plus one over the (few) changes, never a lookup per
    member or per moment.
    """
    order = sorted(range(len(moments)), key=lambda k: moments[k])
    ordered = [moments[k] for k in order]
    # A member is present at the i-th moment (ascending) when they joined at or before it
    # and left after it: joined <= i < left, each counting the moments before the event.
    joined = _moments_before(Member.joined_at, ordered)
    left = case(
        (Member.left_at.is_(None), literal(len(ordered))),
        else_=_moments_before(Member.left_at, ordered),
    )
    present = (
        select(TierAssignment.tier, joined.label("joined"), left.label("left"))
        .join(Member, Member.id == TierAssignment.member_id)
        .where(TierAssignment.space_id == space_id, eligible_members(space_id))
        .subquery()
    )
    counts = [dict.fromkeys((t.value for t in Tier), 0) for _ in moments]
    rows = await conn.execute(
        select(present.c.tier, present.c.joined, present.c.left, func.count()).group_by(
            present.c.tier, present.c.joined, present.c.left
        )
    )
    for tier, first, last, n in rows:
        for i in range(int(first), int(last)):
            counts[order[i]][tier] = counts[order[i]].get(tier, 0) + n
    spans = _spans(space_id, min(moments))
    at = _moments(moments)
    return _rewind(
        counts,
        await conn.execute(
            select(at.c.k, spans.c.from_tier, TierAssignment.tier, func.count())
            .select_from(spans)
            .join(TierAssignment, TierAssignment.member_id == spans.c.member_id)
            .join(Member, Member.id == spans.c.member_id)
            .join(at, _held_at(spans, at.c.at))
            .where(
                eligible_members(space_id),
                or_(Member.left_at.is_(None), Member.left_at > at.c.at),
                or_(Member.joined_at.is_(None), Member.joined_at <= at.c.at),
            )
            .group_by(at.c.k, spans.c.from_tier, TierAssignment.tier)
        ),
    )


async def tier_counts_at(conn: AsyncConnection, space_id: int, moment: datetime) -> dict[str, int]:
    """Members per tier as they stood at MOMENT (members who had joined and not yet left)."""
    return (await tier_counts_at_moments(conn, space_id, [moment]))[0]


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
    """Members active in each of the WEEKS weeks before END, by the tier they held at its end.

    One pass over the rollups of all the weeks gives each active member a flag per week; the
    flags are summed by today's tier, and for the members whose tier changed since the first
    week's end, by the tier they held at each week's end (the rewind).
    """
    r = DailyRollup
    last = day_number(end)
    first = last - 7 * weeks
    week_ends = [end - back * WEEK for back in range(weeks - 1, -1, -1)]
    engaged = (r.day >= first, r.day < last, or_(r.messages > 0, r.contributions > 0))

    def in_weeks():
        """Per week: 1 when the grouped rollups hold a day of that week."""
        return [
            func.max(
                case(
                    (and_(r.day >= first + 7 * k, r.day < first + 7 * (k + 1)), literal(1)),
                    else_=literal(0),
                )
            ).label(f"w{k}")
            for k in range(weeks)
        ]

    flags = (
        select(r.member_id, *in_weeks())
        .where(r.space_id == space_id, *engaged)
        .group_by(r.member_id)
        .subquery()
    )
    now = (
        select(
            literal(None, String()).label("from_tier"),
            TierAssignment.tier,
            *(func.sum(flags.c[f"w{k}"]) for k in range(weeks)),
        )
        .select_from(flags)
        .join(Member, Member.id == flags.c.member_id)
        .outerjoin(TierAssignment, TierAssignment.member_id == flags.c.member_id)
        .where(eligible_members(space_id))
        .group_by(TierAssignment.tier)
    )
    spans = _spans(space_id, week_ends[0])
    # The weeks the members whose tier changed were active in, read through the rollups'
    # member-first key rather than joined to the flags above (SQLite would scan those per span).
    changed = (
        select(spans, *in_weeks())
        .join(r, and_(r.member_id == spans.c.member_id, *engaged))
        .group_by(spans.c.member_id, spans.c.from_tier, spans.c.after, spans.c.until)
        .subquery()
    )
    # Rewound only where the member has an assignment, as the per-moment counts do.
    rewind = (
        select(
            func.coalesce(changed.c.from_tier, Tier.PASSIVE.value).label("from_tier"),
            TierAssignment.tier,
            *(
                func.sum(case((_held_at(changed, at), changed.c[f"w{k}"]), else_=literal(0)))
                for k, at in enumerate(week_ends)
            ),
        )
        .select_from(changed)
        .join(TierAssignment, TierAssignment.member_id == changed.c.member_id)
        .join(Member, Member.id == changed.c.member_id)
        .where(eligible_members(space_id))
        .group_by(changed.c.from_tier, TierAssignment.tier)
    )
    per_tier = {t.value: [0] * weeks for t in Tier}
    for from_tier, now_tier, *counts in await conn.execute(union_all(now, rewind)):
        now_tier = now_tier or Tier.PASSIVE.value
        for k, n in enumerate(counts):
            if from_tier is None:
                per_tier[now_tier][k] += int(n or 0)
            else:
                per_tier[now_tier][k] -= int(n or 0)
                per_tier[from_tier][k] += int(n or 0)
    starts = tuple(day_start(last - 7 * (weeks - k)).date() for k in range(weeks))
    return WeeklyTierCounts(week_starts=starts, counts={k: tuple(v) for k, v in per_tier.items()})
