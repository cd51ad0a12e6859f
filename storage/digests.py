"""The queries behind the weekly community and staff digests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import and_, distinct, func, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased

from community.digest import (
    ChannelRow,
    CommunityDigest,
    Period,
    ShoutOut,
    StaffDigest,
    ThreadRow,
    UnansweredQuestion,
    compose_community,
    split_moves,
)
from community.events import POSTING_KINDS, ActivityKind, day_number
from community.goals import Goal
from community.outcomes import DEFAULT_UNANSWERED_HOURS
from community.quiet import LIVE_STATUSES
from community.tiers import TierPolicy
from community.views import MemberRef
from storage.goals import TIER_METRICS, goal_moments, goals_progress, tier_counts_by_moment
from storage.health import help_health
from storage.helpgraph import answered, replies_seen
from storage.members import eligible_members, member_ref
from storage.models import Activity, Channel, DailyRollup, Member, QuietFlag, RecognizedHero
from storage.outreach import outreach_stats
from storage.quiet import quiet_count, quiet_list
from storage.spaces import space_name
from storage.tier_changes import WEEK, tier_moves, weekly_active_by_tier
from storage.tiers import hero_candidates, members_at_risk


def week_ending(end: datetime) -> Period:
    """The seven days before END."""
    return Period(start=end - WEEK, end=end)


def _current(space_id: int):
    """Members a digest may mention: people (not staff, not bots) who have not left."""
    return and_(eligible_members(space_id), Member.left_at.is_(None))


def _days(period: Period):
    return day_number(period.start), day_number(period.end)


async def new_members(conn: AsyncConnection, space_id: int, period: Period) -> list[MemberRef]:
    """Members who joined during PERIOD and are still here, in order of arrival."""
    rows = await conn.execute(
        select(Member.id, Member.platform_id, Member.display_name)
        .where(_current(space_id), Member.joined_at >= period.start, Member.joined_at < period.end)
        .order_by(Member.joined_at, Member.id)
    )
    return [member_ref(r) for r in rows]


async def top_helpers(
    conn: AsyncConnection, space_id: int, period: Period, policy: TierPolicy, limit: int
) -> list[ShoutOut]:
    """Members who helped others most during PERIOD (answers, replies, thanks), best first."""
    r = DailyRollup
    first, last = _days(period)
    answers, replies, thanks = func.sum(r.answers), func.sum(r.replies), func.sum(r.thanks_received)
    points = (
        answers * literal(policy.weight("answers"))
        + replies * literal(policy.weight("replies"))
        + thanks * literal(policy.weight("thanks_received"))
    )
    rows = await conn.execute(
        select(
            Member.id,
            Member.platform_id,
            Member.display_name,
            answers.label("answers"),
            replies.label("replies"),
            thanks.label("thanks"),
        )
        .select_from(r)
        .join(Member, Member.id == r.member_id)
        .where(r.space_id == space_id, r.day >= first, r.day < last, _current(space_id))
        .group_by(Member.id, Member.platform_id, Member.display_name)
        .having(func.sum(r.replies) > 0)
        .order_by(points.desc(), Member.id)
        .limit(limit)
    )
    return [
        ShoutOut(
            member=member_ref(row),
            answers=int(row.answers or 0),
            replies=int(row.replies or 0),
            thanks=int(row.thanks or 0),
        )
        for row in rows
    ]


async def newly_recognized_heroes(
    conn: AsyncConnection, space_id: int, period: Period
) -> list[MemberRef]:
    """Members staff recognized as heroes during PERIOD (and still recognized)."""
    rows = await conn.execute(
        select(Member.id, Member.platform_id, Member.display_name)
        .join(RecognizedHero, RecognizedHero.member_id == Member.id)
        .where(
            RecognizedHero.space_id == space_id,
            RecognizedHero.removed_at.is_(None),
            RecognizedHero.confirmed_at >= period.start,
            RecognizedHero.confirmed_at < period.end,
            _current(space_id),
        )
        .order_by(RecognizedHero.confirmed_at, Member.id)
    )
    return [member_ref(r) for r in rows]


async def busiest_channels(
    conn: AsyncConnection, space_id: int, period: Period, limit: int
) -> list[ChannelRow]:
    """Channels with the most posts by people during PERIOD."""
    a = Activity
    rows = await conn.execute(
        select(
            func.coalesce(Channel.name, Channel.platform_id).label("name"),
            func.count().label("posts"),
            func.count(distinct(a.member_id)).label("members"),
        )
        .join(Channel, Channel.id == a.channel_id)
        .join(Member, Member.id == a.member_id)
        .where(
            a.space_id == space_id,
            a.occurred_at >= period.start,
            a.occurred_at < period.end,
            a.kind.in_(sorted(kind.value for kind in POSTING_KINDS)),
            Member.is_bot.is_(False),
        )
        .group_by(Channel.id, Channel.name, Channel.platform_id)
        .order_by(func.count().desc(), Channel.id)
        .limit(limit)
    )
    return [ChannelRow(name=r.name, posts=r.posts, members=r.members) for r in rows]


async def busiest_threads(
    conn: AsyncConnection, space_id: int, period: Period, limit: int
) -> list[ThreadRow]:
    """Threads that drew the most direct replies during PERIOD, with who started them."""
    reply, root = Activity, aliased(Activity)
    replies = func.count(reply.id)
    rows = await conn.execute(
        select(
            root.occurred_at,
            Member.id,
            Member.platform_id,
            Member.display_name,
            func.coalesce(Channel.name, Channel.platform_id).label("channel"),
            replies.label("replies"),
        )
        .join(root, and_(root.space_id == reply.space_id, root.event_id == reply.parent_event_id))
        .join(Member, Member.id == root.member_id)
        .outerjoin(Channel, Channel.id == root.channel_id)
        .where(
            reply.space_id == space_id,
            reply.occurred_at >= period.start,
            reply.occurred_at < period.end,
            reply.kind == ActivityKind.REPLY.value,
            root.kind == ActivityKind.THREAD_STARTED.value,
            Member.is_bot.is_(False),
            Member.left_at.is_(None),
        )
        .group_by(
            root.id,
            root.occurred_at,
            Member.id,
            Member.platform_id,
            Member.display_name,
            Channel.name,
            Channel.platform_id,
        )
        .having(replies >= 2)
        .order_by(replies.desc(), root.id)
        .limit(limit)
    )
    return [
        ThreadRow(
            channel=r.channel, starter=member_ref(r), replies=r.replies, started_at=r.occurred_at
        )
        for r in rows
    ]


async def questions_answered(conn: AsyncConnection, space_id: int, period: Period) -> int:
    """Answers members gave to other members' questions during PERIOD."""
    first, last = _days(period)
    total = await conn.execute(
        select(func.sum(DailyRollup.answers))
        .join(Member, Member.id == DailyRollup.member_id)
        .where(
            DailyRollup.space_id == space_id,
            DailyRollup.day >= first,
            DailyRollup.day < last,
            Member.is_bot.is_(False),
        )
    )
    return int(total.scalar_one() or 0)


async def members_kept_out_of_public_digests(
    conn: AsyncConnection, space_id: int, now: datetime
) -> set[int]:
    """Members a public digest must not name: anyone with a live quiet flag, anyone away."""
    flagged = select(QuietFlag.member_id).where(
        QuietFlag.space_id == space_id, QuietFlag.status.in_([s.value for s in LIVE_STATUSES])
    )
    away = select(Member.id).where(Member.space_id == space_id, Member.away_until > now)
    rows = await conn.execute(flagged.union(away))
    return set(rows.scalars())


async def community_digest(
    conn: AsyncConnection,
    space_id: int,
    period: Period,
    policy: TierPolicy,
    shout_outs: int = 5,
) -> CommunityDigest:
    """The public digest for PERIOD."""
    return compose_community(
        await space_name(conn, space_id),
        period,
        new_members=await new_members(conn, space_id, period),
        shout_outs=await top_helpers(conn, space_id, period, policy, shout_outs),
        new_heroes=await newly_recognized_heroes(conn, space_id, period),
        busiest_channels=await busiest_channels(conn, space_id, period, 5),
        busiest_threads=await busiest_threads(conn, space_id, period, 3),
        questions_answered=await questions_answered(conn, space_id, period),
        hidden=await members_kept_out_of_public_digests(conn, space_id, period.end),
    )


async def unanswered_questions(
    conn: AsyncConnection, space_id: int, period: Period, limit: int
) -> tuple[list[UnansweredQuestion], int]:
    """Questions asked in PERIOD that nobody else replied to: the oldest LIMIT, and the count."""
    q = Activity
    where = (
        q.space_id == space_id,
        q.is_question.is_(True),
        q.occurred_at >= period.start,
        q.occurred_at < period.end,
        eligible_members(space_id),
        replies_seen(q),
        ~answered(q, before=period.end),
    )
    total = (
        await conn.execute(
            select(func.count()).select_from(q).join(Member, Member.id == q.member_id).where(*where)
        )
    ).scalar_one()
    rows = await conn.execute(
        select(
            Member.id,
            Member.platform_id,
            Member.display_name,
            q.occurred_at,
            func.coalesce(Channel.name, Channel.platform_id).label("channel"),
        )
        .select_from(q)
        .join(Member, Member.id == q.member_id)
        .outerjoin(Channel, Channel.id == q.channel_id)
        .where(*where)
        .order_by(q.occurred_at, q.id)
        .limit(limit)
    )
    return [
        UnansweredQuestion(member=member_ref(r), channel=r.channel, asked_at=r.occurred_at)
        for r in rows
    ], total


async def staff_digest(
    conn: AsyncConnection,
    space_id: int,
    period: Period,
    policy: TierPolicy,
    goals: Sequence[Goal] = (),
    limit: int = 10,
    unanswered_hours: float = DEFAULT_UNANSWERED_HOURS,
) -> StaffDigest:
    """The staff digest for PERIOD, with figures as they stood at its end."""
    end = period.end
    # One read of the tier counts serves the digest's "then and now" and the tier goals.
    moments = goal_moments(end) if {g.metric for g in goals} & set(TIER_METRICS) else []
    tiers = await tier_counts_by_moment(conn, space_id, sorted({*moments, period.start, end}))
    conversions, demotions = split_moves(await tier_moves(conn, space_id, period.start, end))
    unanswered, unanswered_total = await unanswered_questions(conn, space_id, period, limit)
    return StaffDigest(
        space_name=await space_name(conn, space_id),
        period=period,
        tiers_now=tiers[end],
        tiers_before=tiers[period.start],
        conversions=conversions,
        demotions=demotions,
        quiet=tuple(await quiet_list(conn, space_id, end, limit)),
        quiet_total=await quiet_count(conn, space_id, end),
        hero_candidates=tuple(await hero_candidates(conn, space_id, policy, limit)),
        at_risk=tuple(await members_at_risk(conn, space_id, policy, limit)),
        unanswered=tuple(unanswered),
        unanswered_total=unanswered_total,
        outreach_week=await outreach_stats(conn, space_id, period.start, end, as_of=end),
        outreach_quarter=await outreach_stats(
            conn, space_id, end - timedelta(days=90), end, as_of=end
        ),
        goals=tuple(await goals_progress(conn, space_id, goals, end, tiers if moments else None)),
        health=await help_health(
            conn, space_id, period.start, end, unanswered_hours=unanswered_hours, attention_limit=0
        ),
        weekly_active=await weekly_active_by_tier(conn, space_id, end),
    )
