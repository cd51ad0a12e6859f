"""The headline figures `/stats` shows: tiers now and activity over recent weeks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import distinct, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from community.events import day_number
from storage.models import DailyRollup, Member
from storage.tiers import tier_counts


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
