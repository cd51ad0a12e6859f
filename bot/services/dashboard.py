"""What the dashboard's pages read: one function per page, each opening its own unit of work."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.chart import BarChart, weekly_active_svg, weekly_bars
from bot.services.recent import RecentFigures
from community.digest import StaffDigest
from community.outreach import OutreachRecord
from community.policies import Policies
from community.views import Candidate, MemberProfile, QuietEntry
from storage.channel_health import ChannelHealth, channel_health, channel_names
from storage.digests import staff_digest, week_ending
from storage.member_page import (
    ContributionRow,
    Linked,
    TierStep,
    contributions_of,
    help_links,
    member_channels,
    member_in_space,
    tier_steps,
    weekly_posts,
)
from storage.outreach import outreach_history
from storage.profiles import member_profile
from storage.quiet import quiet_list
from storage.spaces import NotFoundError
from storage.tiers import hero_candidates
from storage.uow import UnitOfWork

LIST_LIMIT = 100  # the quiet and hero-candidate pages: a working list, not a report
CHANNEL_DAYS = 28


async def overview(
    uow: UnitOfWork, policies: Policies, space_id: int, now: datetime, recent: RecentFigures
) -> StaffDigest:
    """The staff digest's figures for the week up to NOW (read only: nothing is marked)."""

    async def compute() -> StaffDigest:
        async with uow.read() as conn:
            return await staff_digest(
                conn,
                space_id,
                week_ending(now),
                policies.tiers,
                policies.goals,
                limit=policies.digest.staff_list_limit,
                unanswered_hours=policies.unanswered_hours,
            )

    return await recent.get(("overview", space_id), now, compute)


async def weekly_chart(
    uow: UnitOfWork, policies: Policies, space_id: int, now: datetime, recent: RecentFigures
) -> bytes:
    """The overview's weekly active members per tier chart, as SVG."""

    async def draw() -> bytes:
        digest = await overview(uow, policies, space_id, now, recent)
        # Drawing takes CPU for a few hundred milliseconds: off the event loop.
        return await asyncio.to_thread(weekly_active_svg, digest.weekly_active)

    return await recent.get(("chart", space_id), now, draw)


@dataclass(frozen=True, slots=True)
class MemberPage:
    """Everything the member page shows."""

    profile: MemberProfile
    steps: list[TierStep]
    helped: list[Linked]
    helped_by: list[Linked]
    channels: list[Linked]
    contributions: list[ContributionRow]
    outreach: list[OutreachRecord]
    activity: BarChart


async def _member(conn, space_id: int, member_id: int):
    member = await member_in_space(conn, space_id, member_id)
    if member is None:
        raise NotFoundError("no such member in this community")
    return member


async def member_page(
    uow: UnitOfWork, policies: Policies, space_id: int, member_id: int, now: datetime
) -> MemberPage:
    """One member's page, or NotFoundError when they are not of SPACE_ID."""
    async with uow.read() as conn:
        member = await _member(conn, space_id, member_id)
        profile = await member_profile(conn, space_id, member.platform_id, now, policies.tiers)
        helped, helped_by = await help_links(conn, member_id)
        return MemberPage(
            profile=profile,
            steps=await tier_steps(conn, member_id, now),
            helped=helped,
            helped_by=helped_by,
            channels=await member_channels(conn, member_id),
            contributions=await contributions_of(conn, member_id),
            outreach=await outreach_history(conn, space_id, member_id),
            activity=weekly_bars(await weekly_posts(conn, member_id, now)),
        )


async def quiet_members(uow: UnitOfWork, space_id: int, now: datetime) -> list[QuietEntry]:
    """The quiet list, as /quiet shows it."""
    async with uow.read() as conn:
        return await quiet_list(conn, space_id, now, LIST_LIMIT)


async def candidates(uow: UnitOfWork, policies: Policies, space_id: int) -> list[Candidate]:
    """Hero candidates, as /hero-candidates shows them."""
    async with uow.read() as conn:
        return await hero_candidates(conn, space_id, policies.tiers, LIST_LIMIT)


async def channels(
    uow: UnitOfWork, space_id: int, now: datetime, recent: RecentFigures
) -> list[ChannelHealth]:
    """Help health per channel over the last four weeks."""

    async def compute() -> list[ChannelHealth]:
        async with uow.read() as conn:
            return await channel_health(conn, space_id, now - timedelta(days=CHANNEL_DAYS), now)

    return await recent.get(("channels", space_id), now, compute)


async def member_row_in(uow: UnitOfWork, space_id: int, member_id: int):
    """The member row MEMBER_ID when it belongs to SPACE_ID, else None."""
    async with uow.read() as conn:
        return await member_in_space(conn, space_id, member_id)


async def channel_choices(uow: UnitOfWork, space_id: int) -> list[tuple[str, str]]:
    """The community's channels as (platform id, name), for the members filter."""
    async with uow.read() as conn:
        return await channel_names(conn, space_id)
