"""Each member's window figures, aggregated in SQL over the daily rollups for the tier rules."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import and_, case, distinct, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from community.tiers import COUNT_FIELDS, TREND_DAYS, MemberStats, TierPolicy
from storage.models import Contribution, DailyRollup, HelpEdge


def _points(policy: TierPolicy):
    r = DailyRollup
    return sum(
        (getattr(r, f) * literal(policy.weight(f)) for f in COUNT_FIELDS), start=literal(0.0)
    )


def posted_or_contributed():
    """Rollup days with a post or a contribution: what counts as being active."""
    return or_(DailyRollup.messages > 0, DailyRollup.contributions > 0)


async def last_active_days(conn: AsyncConnection, space_id: int, today: int) -> dict[int, int]:
    """Each member's last day with a post or contribution, up to TODAY."""
    r = DailyRollup
    rows = await conn.execute(
        select(r.member_id, func.max(r.day))
        .where(r.space_id == space_id, r.day <= today, posted_or_contributed())
        .group_by(r.member_id)
    )
    return dict(rows.all())


# Members per query when reading figures for a list of members: well under SQLite's and
# asyncpg's limits on bound parameters.
CHUNK = 5000
# Past this many members one aggregation of every member is cheaper than lookups by member.
LOOKUP_LIMIT = 100_000


async def last_active_of(
    conn: AsyncConnection, space_id: int, today: int, members: Iterable[int]
) -> dict[int, int]:
    """MEMBERS' last days with a post or contribution, up to TODAY (absent: none)."""
    wanted = sorted(set(members))
    if len(wanted) > LOOKUP_LIMIT:
        found = await last_active_days(conn, space_id, today)
        return {m: found[m] for m in wanted if m in found}
    r = DailyRollup
    out: dict[int, int] = {}
    for start in range(0, len(wanted), CHUNK):
        rows = await conn.execute(
            select(r.member_id, func.max(r.day))
            .where(
                r.member_id.in_(wanted[start : start + CHUNK]),
                r.space_id == space_id,
                r.day <= today,
                posted_or_contributed(),
            )
            .group_by(r.member_id)
        )
        out.update(rows.all())
    return out


def _window_query(space_id: int, today: int, policy: TierPolicy):
    """Each member's window aggregates over the rollups, with the last active day in it."""
    r = DailyRollup
    age = literal(today) - r.day
    points = _points(policy)
    decay = literal(1.0) - literal(1.0 - policy.decay_floor) * (age * literal(1.0)) / literal(
        float(policy.window_days)
    )
    in_window = and_(r.space_id == space_id, r.day > today - policy.window_days, r.day <= today)
    return (
        select(
            r.member_id,
            func.sum(points * decay),
            func.count(distinct(case((posted_or_contributed(), age // literal(7)), else_=None))),
            func.sum(r.answers),
            func.sum(r.replies),
            func.sum(r.thanks_received),
            func.sum(r.contributions),
            func.sum(r.messages),
            func.sum(case((age < TREND_DAYS, points), else_=literal(0.0))),
            func.sum(case((and_(age >= TREND_DAYS, age < 2 * TREND_DAYS), points), else_=0.0)),
            func.sum(case((age < TREND_DAYS, r.replies), else_=0)),
            func.sum(r.accepted_answers),
            func.max(case((posted_or_contributed(), r.day), else_=None)),
        )
        .where(in_window)
        .group_by(r.member_id)
    )


async def _helped_in_window(
    conn: AsyncConnection, space_id: int, today: int, policy: TierPolicy
) -> dict[int, int]:
    """How many members each member helped within the window."""
    rows = await conn.execute(
        select(HelpEdge.helper_id, func.count())
        .where(
            HelpEdge.space_id == space_id,
            HelpEdge.last_day > today - policy.window_days,
            HelpEdge.first_day <= today,
        )
        .group_by(HelpEdge.helper_id)
    )
    return dict(rows.all())


def _stats(row, helped: int, last_active_day: int | None) -> MemberStats:
    return MemberStats(
        score=max(float(row[1] or 0.0), 0.0),
        active_weeks=int(row[2] or 0),
        helped_members=int(helped),
        answers=int(row[3] or 0),
        replies=int(row[4] or 0),
        thanks_received=int(row[5] or 0),
        contributions=int(row[6] or 0),
        messages=int(row[7] or 0),
        accepted_answers=int(row[11] or 0),
        recent_score=max(float(row[8] or 0.0), 0.0),
        prior_score=max(float(row[9] or 0.0), 0.0),
        recent_replies=int(row[10] or 0),
        last_active_day=last_active_day,
    )


async def window_stats(
    conn: AsyncConnection,
    space_id: int,
    today: int,
    policy: TierPolicy,
    last_active: dict[int, int] | None = None,
) -> dict[int, MemberStats]:
    """Every member's window statistics, aggregated in SQL (the SQL path).

    LAST_ACTIVE gives the last active days to use (every member's are read when None); a
    member active outside the window only gets an entry with their last active day.
    """
    rows = (await conn.execute(_window_query(space_id, today, policy))).all()
    helped = await _helped_in_window(conn, space_id, today, policy)
    if last_active is None:
        last_active = await last_active_days(conn, space_id, today)
    stats = {row[0]: _stats(row, helped.get(row[0], 0), last_active.get(row[0])) for row in rows}
    for member, day in last_active.items():
        if member not in stats:
            stats[member] = MemberStats(last_active_day=day)
    return stats


async def window_figures(
    conn: AsyncConnection, space_id: int, today: int, policy: TierPolicy
) -> dict[int, MemberStats]:
    """The window statistics of the members with rollups in the window (the daily job's).

    Each member's last active day comes from the window itself; only a member whose window
    holds reactions alone is looked up further back.
    """
    rows = (await conn.execute(_window_query(space_id, today, policy))).all()
    helped = await _helped_in_window(conn, space_id, today, policy)
    earlier = await last_active_of(conn, space_id, today, (r[0] for r in rows if r[12] is None))
    return {
        row[0]: _stats(
            row, helped.get(row[0], 0), row[12] if row[12] is not None else earlier.get(row[0])
        )
        for row in rows
    }


async def contribution_kinds(
    conn: AsyncConnection, space_id: int, since: datetime, until: datetime
) -> dict[int, dict[str, int]]:
    """Logged contributions per member and kind between two moments."""
    rows = await conn.execute(
        select(Contribution.member_id, Contribution.kind, func.count())
        .where(
            Contribution.space_id == space_id,
            Contribution.occurred_at > since,
            Contribution.occurred_at <= until,
        )
        .group_by(Contribution.member_id, Contribution.kind)
    )
    kinds: dict[int, dict[str, int]] = defaultdict(dict)
    for member, kind, n in rows:
        kinds[member][kind] = n
    return kinds
