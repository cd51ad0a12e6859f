"""Build the weekly digests for one space: content from storage, renderings, the chart.

The service behind ``community/digest.py`` (what a digest says) and ``storage/digests.py``
(the queries it is made from).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from bot.chart import weekly_active_chart
from bot.digest_render.rendered import RenderedDigest, render
from community.digest import Audience, CommunityDigest, SpaceRef, StaffDigest
from community.policies import Policies
from storage.digests import community_digest, staff_digest, week_ending
from storage.outreach import mark_re_engaged
from storage.spaces import space_ref as stored_space
from storage.tiers import mark_listed
from storage.uow import UnitOfWork


async def space_ref(uow: UnitOfWork, space_id: int) -> SpaceRef:
    """The space SPACE_ID, as digests name it."""
    async with uow.read() as conn:
        return await stored_space(conn, space_id)


@dataclass(frozen=True, slots=True)
class BuiltDigest:
    """One audience's digest: the content, its renderings and (for staff) the chart."""

    audience: str
    content: CommunityDigest | StaffDigest
    rendered: RenderedDigest
    chart_png: bytes | None = None


async def build_digest(
    uow: UnitOfWork, policies: Policies, space_id: int, audience: str, end: datetime
) -> BuiltDigest:
    """The digest for AUDIENCE covering the week before END."""
    period = week_ending(end)
    policy = policies.tiers
    if audience == Audience.COMMUNITY:
        async with uow.read() as conn:
            content = await community_digest(
                conn, space_id, period, policy, shout_outs=policies.digest.shout_outs
            )
        return BuiltDigest(audience=audience, content=content, rendered=render(content))
    if audience != Audience.STAFF:
        raise ValueError(f"unknown digest audience {audience!r}")
    async with uow.write() as conn:
        # Outcomes first, so the digest counts everyone who came back up to END.
        await mark_re_engaged(conn, space_id, end)
    async with uow.read() as conn:
        content = await staff_digest(
            conn,
            space_id,
            period,
            policy,
            list(policies.goals),
            limit=policies.digest.staff_list_limit,
            unanswered_hours=policies.unanswered_hours,
        )
    chart = None
    if content.weekly_active is not None:
        # Drawing takes a few hundred milliseconds of CPU: keep it off the event loop.
        chart = await asyncio.to_thread(
            weekly_active_chart,
            content.weekly_active,
            f"{content.space_name}: weekly active members per tier",
        )
    return BuiltDigest(
        audience=audience, content=content, rendered=render(content), chart_png=chart
    )


async def record_listed(
    uow: UnitOfWork, space_id: int, built: BuiltDigest, built_at: datetime
) -> int:
    """After a staff digest is posted: staff have seen the members it listed at risk.

    BUILT_AT is a moment taken before the digest was built; a demotion waits for this mark
    (community.stability.staff_warned).
    """
    if not isinstance(built.content, StaffDigest) or not built.content.at_risk:
        return 0
    members = [row.member.id for row in built.content.at_risk]
    async with uow.write() as conn:
        return await mark_listed(conn, space_id, members, built_at)
