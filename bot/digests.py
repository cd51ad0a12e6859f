"""Build the weekly digests for one space: content from storage, renderings, the chart."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.chart import weekly_active_chart
from bot.digest_render import RenderedDigest, render
from bot.settings import Settings
from community.digest import Audience, CommunityDigest, SpaceRef, StaffDigest
from community.goals import Goal, GoalMetric
from storage.digest import community_digest, staff_digest, week_ending
from storage.engine import begin_write
from storage.models import Space
from storage.outreach import mark_re_engaged


def goals_from(settings: Settings) -> list[Goal]:
    """The `[[goals]]` of the config as domain goals."""
    return [
        Goal(metric=GoalMetric(g.metric), target=g.target, by=g.by, name=g.name)
        for g in settings.goals
    ]


async def space_ref(engine: AsyncEngine, space_id: int) -> SpaceRef:
    """The space row as a SpaceRef."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(Space.id, Space.platform, Space.platform_id, Space.name).where(
                    Space.id == space_id
                )
            )
        ).one()
    return SpaceRef(id=row.id, platform=row.platform, platform_id=row.platform_id, name=row.name)


@dataclass(frozen=True, slots=True)
class BuiltDigest:
    """One audience's digest: the content, its renderings and (for staff) the chart."""

    audience: str
    content: CommunityDigest | StaffDigest
    rendered: RenderedDigest
    chart_png: bytes | None = None


async def build_digest(
    engine: AsyncEngine, settings: Settings, space_id: int, audience: str, end: datetime
) -> BuiltDigest:
    """The digest for AUDIENCE covering the week before END."""
    period = week_ending(end)
    policy = settings.tiers.policy()
    if audience == Audience.COMMUNITY:
        async with engine.connect() as conn:
            content = await community_digest(
                conn, space_id, period, policy, shout_outs=settings.digest.shout_outs
            )
        return BuiltDigest(audience=audience, content=content, rendered=render(content))
    if audience != Audience.STAFF:
        raise ValueError(f"unknown digest audience {audience!r}")
    async with begin_write(engine) as conn:
        # Outcomes first, so the digest counts everyone who came back up to END.
        await mark_re_engaged(conn, space_id, end)
    async with engine.connect() as conn:
        content = await staff_digest(
            conn,
            space_id,
            period,
            policy,
            goals_from(settings),
            limit=settings.digest.staff_list_limit,
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
