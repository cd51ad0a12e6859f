"""Reads behind the CSV exports, streamed from a database cursor in batches.

Opted-out members are deleted with everything about them (storage.privacy), so no export
needs a filter for them; staff and bots never hold tier changes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

from sqlalchemy import case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from community.events import day_start
from community.member_list import MemberQuery, MemberRow
from community.tiers import Tier, TierPolicy
from storage.as_of import snapshot
from storage.member_list import live_members
from storage.models import (
    Channel,
    ChannelActivity,
    DailyRollup,
    Member,
    Outreach,
    RecognizedHero,
    Space,
    TierChange,
)

BATCH = 2000


async def _stream(conn: AsyncConnection, stmt, batch: int) -> AsyncIterator[list]:
    result = await conn.stream(stmt.execution_options(yield_per=batch))
    async for part in result.partitions(batch):
        yield list(part)


def stream_tier_changes(
    conn: AsyncConnection, space_id: int, until: datetime | None, batch: int = BATCH
) -> AsyncIterator[list]:
    """Tier changes made at or before UNTIL, oldest first, in the export's columns."""
    stmt = (
        select(
            TierChange.changed_at,
            Member.platform_id,
            func.coalesce(Member.display_name, Member.platform_id),
            TierChange.from_tier,
            TierChange.to_tier,
            TierChange.score,
            TierChange.reasons,
        )
        .join(Member, Member.id == TierChange.member_id)
        .where(TierChange.space_id == space_id)
        .order_by(TierChange.changed_at, TierChange.id)
    )
    if until is not None:
        stmt = stmt.where(TierChange.changed_at <= until)
    return _stream(conn, stmt, batch)


def stream_outreach(
    conn: AsyncConnection, space_id: int, until: datetime | None, batch: int = BATCH
) -> AsyncIterator[list]:
    """Outreach made at or before UNTIL (its outcome as known then), oldest first."""
    re_engaged = Outreach.re_engaged_at
    if until is not None:
        re_engaged = case((Outreach.re_engaged_at <= until, Outreach.re_engaged_at))
    stmt = (
        select(
            Outreach.at,
            Member.platform_id,
            func.coalesce(Member.display_name, Member.platform_id),
            Outreach.action,
            Outreach.staff_platform_id,
            re_engaged,
        )
        .join(Member, Member.id == Outreach.member_id)
        .where(Outreach.space_id == space_id)
        .order_by(Outreach.at, Outreach.id)
    )
    if until is not None:
        stmt = stmt.where(Outreach.at <= until)
    return _stream(conn, stmt, batch)


async def members_as_of(
    conn: AsyncConnection,
    space_id: int,
    day: int,
    moment: datetime,
    policy: TierPolicy,
    query: MemberQuery,
) -> list[MemberRow]:
    """The members tiers considered at the end of DAY, with that day's figures, QUERY applied.

    The replay (storage.history) holds every member's figures in memory to recompute them,
    so this list is built whole; only the current members list streams.
    """
    snap = await snapshot(conn, space_id, day, moment, policy)
    platform = (await conn.execute(select(Space.platform).where(Space.id == space_id))).scalar_one()
    quiet = set((await conn.execute(select(live_members(space_id, moment).c.member_id))).scalars())
    heroes = set(
        (
            await conn.execute(
                select(RecognizedHero.member_id).where(
                    RecognizedHero.space_id == space_id,
                    RecognizedHero.confirmed_at <= moment,
                    or_(RecognizedHero.removed_at.is_(None), RecognizedHero.removed_at > moment),
                )
            )
        ).scalars()
    )
    # The replay's figures carry no last active day; the rollups say it for DAY in one pass.
    last_days = dict(
        (
            await conn.execute(
                select(DailyRollup.member_id, func.max(DailyRollup.day))
                .where(DailyRollup.space_id == space_id, DailyRollup.day <= day)
                .group_by(DailyRollup.member_id)
            )
        ).all()
    )
    in_channel = None
    if query.channel is not None:
        in_channel = set(
            (
                await conn.execute(
                    select(ChannelActivity.member_id)
                    .join(Channel, Channel.id == ChannelActivity.channel_id)
                    .where(Channel.space_id == space_id, Channel.platform_id == query.channel)
                    .where(ChannelActivity.posts > 0)
                )
            ).scalars()
        )
    rows = []
    for member_id, member in snap.members.items():
        held = snap.held.get(member_id)
        stats = held.figures(day) if held else None
        last = last_days.get(member_id)
        rows.append(
            MemberRow(
                id=member_id,
                platform_id=member.platform_id,
                name=member.display_name or member.platform_id,
                platform=platform,
                tier=(held.tier if held else Tier.PASSIVE).value,
                score=round(stats.score, 4) if stats else 0.0,
                last_seen=day_start(last).date() if last is not None else None,
                weeks_active=stats.active_weeks if stats else 0,
                helped_members=stats.helped_members if stats else 0,
                quiet=member_id in quiet,
                staff=False,
                hero_confirmed=member_id in heroes,
            )
        )
    rows = [r for r in rows if query.matches(r) and (in_channel is None or r.id in in_channel)]
    return query.sorted(rows)
