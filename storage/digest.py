"""The queries behind the weekly digests, tier history figures and goal progress.

Everything here reads; it aggregates in SQL over rollups, activities of the week and tier
history, and hands plain records from `community.digest` and `community.goals` back.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import and_, distinct, exists, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased

from community.digest import (
    ChannelRow,
    CommunityDigest,
    Period,
    ShoutOut,
    StaffDigest,
    ThreadRow,
    TierMove,
    UnansweredQuestion,
    WeeklyTierCounts,
    compose_community,
    split_moves,
)
from community.events import POSTING_KINDS, ActivityKind, day_number, day_start
from community.goals import Goal, GoalMetric, GoalProgress, goal_progress
from community.quiet import LIVE_STATUSES
from community.tiers import Tier, TierPolicy
from community.views import MemberRef
from storage.helpgraph import answered, answers_to, not_indexed, replies_seen
from storage.intelligence import eligible_members
from storage.models import (
    Activity,
    Channel,
    DailyRollup,
    Member,
    QuietFlag,
    RecognizedHero,
    Space,
    TierAssignment,
    TierChange,
)
from storage.outreach import outreach_stats
from storage.queries import hero_candidates, quiet_count, quiet_list

WEEK = timedelta(days=7)
CHART_WEEKS = 12
GOAL_TREND_WEEKS = 8


def week_ending(end: datetime) -> Period:
    """The seven days before END."""
    return Period(start=end - WEEK, end=end)


def _ref(row) -> MemberRef:
    return MemberRef(
        id=row.id, platform_id=row.platform_id, name=row.display_name or row.platform_id
    )


def _current(space_id: int):
    """Members a digest may mention: people (not staff, not bots) who have not left."""
    return and_(eligible_members(space_id), Member.left_at.is_(None))


def _days(period: Period):
    return day_number(period.start), day_number(period.end)


async def space_name(conn: AsyncConnection, space_id: int) -> str:
    """The space's name, or its platform id."""
    row = (
        await conn.execute(select(Space.name, Space.platform_id).where(Space.id == space_id))
    ).one()
    return row.name or row.platform_id


# --- the community digest ----------------------------------------------------------------------


async def new_members(conn: AsyncConnection, space_id: int, period: Period) -> list[MemberRef]:
    """Members who joined during PERIOD and are still here, in order of arrival."""
    rows = await conn.execute(
        select(Member.id, Member.platform_id, Member.display_name)
        .where(_current(space_id), Member.joined_at >= period.start, Member.joined_at < period.end)
        .order_by(Member.joined_at, Member.id)
    )
    return [_ref(r) for r in rows]


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
            member=_ref(row),
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
    return [_ref(r) for r in rows]


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
        ThreadRow(channel=r.channel, starter=_ref(r), replies=r.replies, started_at=r.occurred_at)
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


# --- tier history --------------------------------------------------------------------------


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
        TierMove(member=_ref(r), from_tier=r.from_tier, to_tier=r.to_tier, at=r.changed_at)
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


# --- the staff digest ----------------------------------------------------------------------


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
        UnansweredQuestion(member=_ref(r), channel=r.channel, asked_at=r.occurred_at) for r in rows
    ], total


async def reply_hours(
    conn: AsyncConnection, space_id: int, start: datetime, end: datetime
) -> list[float]:
    """Hours from each question asked between START and END to its first reply by someone else."""
    q, reply = Activity, aliased(Activity)
    rows = await conn.execute(
        select(q.occurred_at, func.min(reply.occurred_at))
        .join(reply, answers_to(q, reply))
        .where(
            q.space_id == space_id,
            q.is_question.is_(True),
            q.occurred_at >= start,
            q.occurred_at < end,
            not_indexed(reply.occurred_at) < end,
        )
        .group_by(q.id, q.occurred_at)
    )
    return [max((first - asked).total_seconds() / 3600, 0.0) for asked, first in rows]


async def goal_value(
    conn: AsyncConnection, space_id: int, metric: GoalMetric, at: datetime
) -> float | None:
    """The figure METRIC measures, as it stood at AT."""
    month = timedelta(days=30)
    if metric in (GoalMetric.ACTIVE_MEMBERS, GoalMetric.HEROES):
        counts = await tier_counts_at(conn, space_id, at)
        if metric is GoalMetric.HEROES:
            return float(counts[Tier.HERO.value])
        return float(counts[Tier.ACTIVE.value] + counts[Tier.HERO.value])
    if metric is GoalMetric.CONVERSIONS_PER_MONTH:
        up, _ = split_moves(await tier_moves(conn, space_id, at - month, at))
        return float(len(up))
    if metric is GoalMetric.RE_ENGAGEMENT_RATE:
        stats = await outreach_stats(conn, space_id, at - timedelta(days=90), at, as_of=at)
        return stats.rate
    hours = await reply_hours(conn, space_id, at - month, at)
    return statistics.median(hours) if hours else None


async def goals_progress(
    conn: AsyncConnection, space_id: int, goals: Sequence[Goal], now: datetime
) -> list[GoalProgress]:
    """Each goal's current figure and verdict, from its weekly figures over the last 8 weeks."""
    progress = []
    for goal in goals:
        moments = [now - back * WEEK for back in range(GOAL_TREND_WEEKS, -1, -1)]
        samples = [(m, await goal_value(conn, space_id, goal.metric, m)) for m in moments]
        progress.append(goal_progress(goal, samples, now))
    return progress


async def staff_digest(
    conn: AsyncConnection,
    space_id: int,
    period: Period,
    policy: TierPolicy,
    goals: Sequence[Goal] = (),
    limit: int = 10,
) -> StaffDigest:
    """The staff digest for PERIOD, with figures as they stood at its end."""
    end = period.end
    conversions, demotions = split_moves(await tier_moves(conn, space_id, period.start, end))
    unanswered, unanswered_total = await unanswered_questions(conn, space_id, period, limit)
    return StaffDigest(
        space_name=await space_name(conn, space_id),
        period=period,
        tiers_now=await tier_counts_at(conn, space_id, end),
        tiers_before=await tier_counts_at(conn, space_id, period.start),
        conversions=conversions,
        demotions=demotions,
        quiet=tuple(await quiet_list(conn, space_id, end, limit)),
        quiet_total=await quiet_count(conn, space_id, end),
        hero_candidates=tuple(await hero_candidates(conn, space_id, policy, limit)),
        unanswered=tuple(unanswered),
        unanswered_total=unanswered_total,
        outreach_week=await outreach_stats(conn, space_id, period.start, end, as_of=end),
        outreach_quarter=await outreach_stats(
            conn, space_id, end - timedelta(days=90), end, as_of=end
        ),
        goals=tuple(await goals_progress(conn, space_id, goals, end)),
        weekly_active=await weekly_active_by_tier(conn, space_id, end),
    )
