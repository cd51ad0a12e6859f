"""Each member's window figures, aggregated in SQL over the daily rollups for the tier rules."""

from __future__ import annotations

from collections import defaultdict
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


async def window_stats(
    conn: AsyncConnection,
    space_id: int,
    today: int,
    policy: TierPolicy,
    last_active: dict[int, int] | None = None,
) -> dict[int, MemberStats]:
    """Every member's window statistics, aggregated in SQL (the SQL path)."""
    r = DailyRollup
    age = literal(today) - r.day
    points = _points(policy)
    decay = literal(1.0) - literal(1.0 - policy.decay_floor) * (age * literal(1.0)) / literal(
        float(policy.window_days)
    )
    in_window = and_(r.space_id == space_id, r.day > today - policy.window_days, r.day <= today)
    rows = await conn.execute(
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
        )
        .where(in_window)
        .group_by(r.member_id)
    )
    helped = dict(
        (
            await conn.execute(
                select(HelpEdge.helper_id, func.count())
                .where(
                    HelpEdge.space_id == space_id,
                    HelpEdge.last_day > today - policy.window_days,
                    HelpEdge.first_day <= today,
                )
                .group_by(HelpEdge.helper_id)
            )
        ).all()
    )
    if last_active is None:
        last_active = await last_active_days(conn, space_id, today)
    stats = {}
    for row in rows:
        member = row[0]
        stats[member] = MemberStats(
            score=max(float(row[1] or 0.0), 0.0),
            active_weeks=int(row[2] or 0),
            helped_members=int(helped.get(member, 0)),
            answers=int(row[3] or 0),
            replies=int(row[4] or 0),
            thanks_received=int(row[5] or 0),
            contributions=int(row[6] or 0),
            messages=int(row[7] or 0),
            accepted_answers=int(row[11] or 0),
            recent_score=max(float(row[8] or 0.0), 0.0),
            prior_score=max(float(row[9] or 0.0), 0.0),
            recent_replies=int(row[10] or 0),
            last_active_day=last_active.get(member),
        )
    for member, day in last_active.items():
        if member not in stats:
            stats[member] = MemberStats(last_active_day=day)
    return stats


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
