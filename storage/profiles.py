"""One member's profile for staff: as stored now, or recomputed as of a past day."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from community.events import day_start
from community.stability import at_risk, with_pin
from community.tiers import MemberStats, Tier, TierPolicy, reasons
from community.views import AtRiskRow, MemberProfile
from storage.as_of import window_kinds
from storage.figures import last_active_days
from storage.history import tiers_as_of
from storage.members import find_member, member_ref
from storage.models import TierAssignment, TierChange
from storage.quiet import quiet_list
from storage.recognition import is_recognized_hero
from storage.roles import role_history
from storage.tiers import standing_of


async def member_profile(
    conn: AsyncConnection,
    space_id: int,
    query: str,
    now: datetime,
    policy: TierPolicy | None = None,
) -> MemberProfile:
    """Everything staff may see about one member (with POLICY, whether they are at risk)."""
    member = await find_member(conn, space_id, query)
    assignment = (
        await conn.execute(select(TierAssignment).where(TierAssignment.member_id == member.id))
    ).first()
    history = [
        (row.changed_at, row.from_tier, row.to_tier)
        for row in await conn.execute(
            select(TierChange.changed_at, TierChange.from_tier, TierChange.to_tier)
            .where(TierChange.member_id == member.id, TierChange.changed_at <= now)
            .order_by(TierChange.changed_at.desc())
            .limit(10)
        )
    ]
    flags = await quiet_list(conn, space_id, now, 1, member_id=member.id)
    pinned = assignment is not None and assignment.pinned_at is not None
    last_active = None
    if assignment is not None and assignment.last_active_day is not None:
        last_active = day_start(assignment.last_active_day)
    return MemberProfile(
        member=member_ref(member),
        is_staff=member.is_staff,
        is_bot=member.is_bot,
        joined_at=member.joined_at,
        left_at=member.left_at,
        away_until=member.away_until,
        tier=assignment.tier if assignment else None,
        reasons=with_pin(assignment.reasons, pinned) if assignment else None,
        pinned=pinned,
        recognized_hero=await is_recognized_hero(conn, member.id),
        last_active=last_active,
        tier_history=history,
        open_flag=flags[0] if flags else None,
        role_history=await role_history(conn, member.id, now),
        at_risk=risk_of(member, assignment, policy) if policy and assignment else None,
    )


def risk_of(member, assignment, policy: TierPolicy) -> AtRiskRow | None:
    """The member's risk of demotion as of their last evaluation, or None."""
    stats = MemberStats(
        score=assignment.score,
        active_weeks=assignment.active_weeks,
        helped_members=assignment.helped_members,
    )
    risk = at_risk(
        stats, standing_of(assignment), assignment.evaluated_at.astimezone(UTC).date(), policy
    )
    if risk is None:
        return None
    return AtRiskRow(
        member=member_ref(member),
        tier=risk.tier.value,
        falls_to=risk.falls_to.value,
        missing=tuple(risk.missing),
        below_count=risk.below_count,
        earliest=risk.earliest,
        score=round(assignment.score, 1),
    )


async def member_profile_as_of(
    conn: AsyncConnection,
    space_id: int,
    query: str,
    day: int,
    moment: datetime,
    policy: TierPolicy,
) -> MemberProfile:
    """One member as they stood at the end of DAY: tier and reasons recomputed, history then."""
    profile = await member_profile(conn, space_id, query, moment)
    member = profile.member.id
    if profile.is_staff or profile.is_bot:
        return profile
    h = (await tiers_as_of(conn, space_id, day, policy)).get(member)
    stats = h.figures(day) if h else MemberStats()
    tier = h.tier if h else Tier.PASSIVE
    kinds = await window_kinds(conn, space_id, day, moment, policy)
    last = (await last_active_days(conn, space_id, day)).get(member)
    return replace(
        profile,
        tier=tier.value,
        reasons=with_pin(
            reasons(tier, stats, policy, kinds.get(member), earned=h.earned if h else tier),
            h is not None and h.pinned,
        ),
        pinned=h is not None and h.pinned,
        last_active=day_start(last) if last is not None else None,
    )
