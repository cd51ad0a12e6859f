"""What one member's dashboard page shows beyond the profile: activity, help, channels, records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, func, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased

from community.events import day_number, day_start
from storage.models import (
    Channel,
    ChannelActivity,
    Contribution,
    DailyRollup,
    HelpEdge,
    Member,
    TierChange,
)


@dataclass(frozen=True, slots=True)
class Linked:
    """Another member, or a channel, with a count."""

    id: int
    name: str
    count: int


@dataclass(frozen=True, slots=True)
class TierStep:
    """One tier change with the reasons stored at the time."""

    at: datetime
    from_tier: str | None
    to_tier: str
    reasons: str


@dataclass(frozen=True, slots=True)
class ContributionRow:
    """A logged talk, post, video or meetup."""

    at: datetime
    kind: str
    title: str
    logged_by: str | None


async def member_in_space(conn: AsyncConnection, space_id: int, member_id: int):
    """The member row MEMBER_ID when it belongs to SPACE_ID, else None."""
    return (
        await conn.execute(
            select(Member).where(Member.id == member_id, Member.space_id == space_id)
        )
    ).first()


async def weekly_posts(
    conn: AsyncConnection, member_id: int, now: datetime, weeks: int = 52
) -> list[tuple[datetime, int]]:
    """Messages posted each of the last WEEKS weeks (oldest first), from the daily rollups."""
    today = day_number(now)
    first = today - 7 * weeks + 1
    rows = await conn.execute(
        select(DailyRollup.day, DailyRollup.messages).where(
            DailyRollup.member_id == member_id, DailyRollup.day >= first, DailyRollup.day <= today
        )
    )
    counts = [0] * weeks
    for day, messages in rows:
        counts[(day - first) // 7] += messages or 0
    return [(day_start(first + 7 * w), counts[w]) for w in range(weeks)]


async def tier_steps(conn: AsyncConnection, member_id: int, now: datetime, limit: int = 20):
    """The member's tier changes up to NOW, newest first, with their reasons."""
    rows = await conn.execute(
        select(TierChange.changed_at, TierChange.from_tier, TierChange.to_tier, TierChange.reasons)
        .where(TierChange.member_id == member_id, TierChange.changed_at <= now)
        .order_by(TierChange.changed_at.desc(), TierChange.id.desc())
        .limit(limit)
    )
    return [TierStep(*r) for r in rows]


def help_query(member_id: int, helped_by: bool, limit: int = 10) -> Select:
    """Whom MEMBER_ID helped (or, HELPED_BY, who helped them), with replies, most first."""
    mine, theirs = HelpEdge.helper_id, HelpEdge.helped_id
    if helped_by:
        mine, theirs = theirs, mine
    return (
        select(Member.id, Member.display_name, Member.platform_id, HelpEdge.replies)
        .join(Member, Member.id == theirs)
        .where(mine == member_id)
        .order_by(HelpEdge.replies.desc(), Member.id)
        .limit(limit)
    )


async def help_links(conn: AsyncConnection, member_id: int, limit: int = 10):
    """(whom they helped, who helped them), each with replies, most first."""

    async def side(helped_by: bool) -> list[Linked]:
        rows = await conn.execute(help_query(member_id, helped_by, limit))
        return [Linked(r.id, r.display_name or r.platform_id, r.replies) for r in rows]

    return await side(False), await side(True)


async def member_channels(conn: AsyncConnection, member_id: int, limit: int = 10) -> list[Linked]:
    """The channels the member posted in most."""
    rows = await conn.execute(
        select(
            Channel.id,
            func.coalesce(Channel.name, Channel.platform_id).label("name"),
            ChannelActivity.posts,
        )
        .join(Channel, Channel.id == ChannelActivity.channel_id)
        .where(ChannelActivity.member_id == member_id)
        .order_by(ChannelActivity.posts.desc(), Channel.id)
        .limit(limit)
    )
    return [Linked(r.id, r.name, r.posts) for r in rows]


async def contributions_of(
    conn: AsyncConnection, member_id: int, limit: int = 20
) -> list[ContributionRow]:
    """Contributions logged for the member, newest first, with the logger's name when known."""
    logger = aliased(Member)
    rows = await conn.execute(
        select(
            Contribution.occurred_at,
            Contribution.kind,
            Contribution.title,
            func.coalesce(logger.display_name, Contribution.logged_by),
        )
        .outerjoin(
            logger,
            and_(
                logger.space_id == Contribution.space_id,
                logger.platform_id == Contribution.logged_by,
            ),
        )
        .where(Contribution.member_id == member_id)
        .order_by(Contribution.occurred_at.desc(), Contribution.id.desc())
        .limit(limit)
    )
    return [ContributionRow(*r) for r in rows]
