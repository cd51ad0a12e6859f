"""What staff and members change through chat commands: contributions, heroes, away, stats."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import distinct, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from community.events import ActivityEvent, Platform, day_number
from storage.engine import dialect_insert
from storage.models import (
    Activity,
    Contribution,
    DailyRollup,
    Member,
    QuietFlag,
    RecognizedHero,
    Space,
    TierAssignment,
)
from storage.queries import NotFoundError, is_recognized_hero, tier_counts
from storage.writer.batch import BatchWriter


async def space_id_for(conn: AsyncConnection, platform: Platform, platform_id: str) -> int | None:
    """The row id of a Discord guild or Slack workspace, or None before anything was logged."""
    return (
        await conn.execute(
            select(Space.id).where(
                Space.platform == platform.value, Space.platform_id == platform_id
            )
        )
    ).scalar_one_or_none()


async def mark_staff(
    conn: AsyncConnection, platform: Platform, platform_id: str, staff: Collection[str]
) -> set[str]:
    """Set members.is_staff to exactly STAFF in a space; return the staff ids stored so far."""
    space = await space_id_for(conn, platform, platform_id)
    if space is None:
        return set()
    staff = sorted(staff)
    await conn.execute(
        Member.__table__.update()
        .where(Member.space_id == space)
        .values(is_staff=Member.platform_id.in_(staff) if staff else False)
    )
    rows = await conn.execute(
        select(Member.platform_id).where(Member.space_id == space, Member.is_staff)
    )
    return set(rows.scalars())


async def member_row(conn: AsyncConnection, space_id: int, platform_id: str):
    """The member row for a platform id, or NotFoundError saying Pulse has not seen them."""
    row = (
        await conn.execute(
            select(Member).where(Member.space_id == space_id, Member.platform_id == platform_id)
        )
    ).first()
    if row is None:
        raise NotFoundError("Pulse has not seen that member take part yet")
    return row


async def log_contribution(
    conn: AsyncConnection,
    hash_key: bytes,
    event: ActivityEvent,
    space_id: int,
    member_id: int,
    title: str,
    logged_by: str,
) -> int:
    """Record a contribution and count it as activity, in the caller's transaction.

    SPACE_ID and MEMBER_ID are the rows the caller already looked up for EVENT.
    """
    result = await BatchWriter(hash_key).write(conn, [event])
    if not result.inserted:
        raise NotFoundError("that contribution was not recorded (is the member opted out?)")
    return (
        await conn.execute(
            dialect_insert(conn, Contribution)
            .values(
                space_id=space_id,
                member_id=member_id,
                kind=event.contribution_kind or "other",
                title=title,
                logged_by=logged_by,
                occurred_at=event.occurred_at,
            )
            .returning(Contribution.id)
        )
    ).scalar_one()


async def member_name(conn: AsyncConnection, member_id: int) -> str:
    """How a member is shown: their display name, else their platform id."""
    row = (
        await conn.execute(
            select(Member.display_name, Member.platform_id).where(Member.id == member_id)
        )
    ).one()
    return row.display_name or row.platform_id


async def set_hero(
    conn: AsyncConnection, space_id: int, member_id: int, confirmed: bool, staff: str, now
) -> bool:
    """Confirm or remove a hero recognition; False when nothing changed."""
    current = (
        await conn.execute(
            select(RecognizedHero.removed_at).where(RecognizedHero.member_id == member_id)
        )
    ).first()
    active = current is not None and current.removed_at is None
    if confirmed == active:
        return False
    if confirmed:
        stmt = dialect_insert(conn, RecognizedHero).values(
            member_id=member_id, space_id=space_id, confirmed_by=staff, confirmed_at=now
        )
        await conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["member_id"],
                set_={"confirmed_by": staff, "confirmed_at": now, "removed_at": None},
            )
        )
    else:
        await conn.execute(
            update(RecognizedHero)
            .where(RecognizedHero.member_id == member_id)
            .values(removed_at=now)
        )
    return True


async def set_away(conn: AsyncConnection, member_id: int, until: datetime) -> None:
    """Pause quiet flags for a member until UNTIL."""
    await conn.execute(update(Member).where(Member.id == member_id).values(away_until=until))


@dataclass(frozen=True, slots=True)
class CommunityStats:
    """The headline figures for the last WEEKS weeks."""

    weeks: int
    tiers: dict[str, int]
    active_members: int
    new_members: int
    messages: int
    questions: int
    answers: int
    helpers: int


async def community_stats(
    conn: AsyncConnection, space_id: int, weeks: int, now: datetime
) -> CommunityStats:
    """Tiers now, and activity over the last WEEKS weeks, from the rollups."""
    since = day_number(now) - 7 * weeks
    totals = (
        await conn.execute(
            select(
                func.count(distinct(DailyRollup.member_id)).filter(DailyRollup.messages > 0),
                func.coalesce(func.sum(DailyRollup.messages), 0),
                func.coalesce(func.sum(DailyRollup.questions), 0),
                func.coalesce(func.sum(DailyRollup.answers), 0),
                func.count(distinct(DailyRollup.member_id)).filter(DailyRollup.replies > 0),
            ).where(DailyRollup.space_id == space_id, DailyRollup.day > since)
        )
    ).one()
    new = (
        await conn.execute(
            select(func.count()).where(
                Member.space_id == space_id,
                Member.joined_at > now - timedelta(weeks=weeks),
                Member.is_bot.is_(False),
            )
        )
    ).scalar_one()
    return CommunityStats(
        weeks=weeks,
        tiers=await tier_counts(conn, space_id),
        active_members=totals[0],
        new_members=new,
        messages=totals[1],
        questions=totals[2],
        answers=totals[3],
        helpers=totals[4],
    )


@dataclass(frozen=True, slots=True)
class PrivacySummary:
    """What Pulse holds about one member: counts and dates, never message text."""

    display_name: str | None
    activities: int
    first_seen: datetime | None
    last_seen: datetime | None
    days_with_activity: int
    tier: str | None
    quiet_flags: int
    contributions: int
    recognized_hero: bool


async def privacy_summary(conn: AsyncConnection, space_id: int, platform_id: str) -> PrivacySummary:
    """Everything kept about a member, summarized for them."""
    member = await member_row(conn, space_id, platform_id)
    acts = (
        await conn.execute(
            select(
                func.count(), func.min(Activity.occurred_at), func.max(Activity.occurred_at)
            ).where(Activity.member_id == member.id)
        )
    ).one()

    async def count(column) -> int:
        return (await conn.execute(select(func.count()).where(column == member.id))).scalar_one()

    tier = (
        await conn.execute(select(TierAssignment.tier).where(TierAssignment.member_id == member.id))
    ).scalar_one_or_none()
    return PrivacySummary(
        display_name=member.display_name,
        activities=acts[0],
        first_seen=acts[1],
        last_seen=acts[2],
        days_with_activity=await count(DailyRollup.member_id),
        tier=tier,
        quiet_flags=await count(QuietFlag.member_id),
        contributions=await count(Contribution.member_id),
        recognized_hero=await is_recognized_hero(conn, member.id),
    )
