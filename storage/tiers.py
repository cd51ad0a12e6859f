"""Tier assignments: the reads ranked on them, pins, and what the daily job reads of them.

The daily reclassification that writes them is storage.reclassify.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from community.stability import Standing, at_risk, with_pin
from community.tiers import MemberStats, Tier, TierPolicy, trend
from community.views import AtRiskRow, Candidate, TierRow
from storage.members import eligible_members, member_ref
from storage.models import Member, RecognizedHero, Space, TierAssignment
from storage.spaces import NotFoundError


def standing_of(row, listing: bool = False) -> Standing:
    """A stored assignment as the rules' Standing; LISTING: its space has a staff digest."""
    if row is None:
        return Standing()
    promoted = row.promoted_at.astimezone(UTC).date() if row.promoted_at else None
    since = row.at_risk_since
    listed = since is not None and row.at_risk_listed_at is not None
    return Standing(
        Tier(row.tier),
        row.below_count,
        promoted,
        row.pinned_at is not None,
        at_risk_since=since.astimezone(UTC).date() if since else None,
        needs_listing=listing,
        listed=listed and row.at_risk_listed_at >= since,
    )


async def needs_listing(conn: AsyncConnection, space_id: int, policy: TierPolicy) -> bool:
    """Whether demotions in the space wait for a staff digest to list the member at risk."""
    if not policy.staff_digest_platforms:
        return False
    platform = (
        await conn.execute(select(Space.platform).where(Space.id == space_id))
    ).scalar_one_or_none()
    return platform in policy.staff_digest_platforms


async def mark_listed(
    conn: AsyncConnection, space_id: int, member_ids: list[int], built_at: datetime
) -> int:
    """Record that a posted staff digest, built at BUILT_AT, listed MEMBER_IDS at risk.

    Only a spell at risk that began by BUILT_AT counts as seen: one the daily job started
    after the digest was read is news the digest did not carry.
    """
    if not member_ids:
        return 0
    result = await conn.execute(
        update(TierAssignment)
        .where(
            TierAssignment.space_id == space_id,
            TierAssignment.member_id.in_(member_ids),
            TierAssignment.at_risk_since <= built_at,
        )
        .values(at_risk_listed_at=built_at)
    )
    return result.rowcount


async def tier_counts(conn: AsyncConnection, space_id: int) -> dict[str, int]:
    """Current members per tier (staff, bots and members who left excluded)."""
    rows = await conn.execute(
        select(TierAssignment.tier, func.count())
        .join(Member, Member.id == TierAssignment.member_id)
        .where(eligible_members(space_id), Member.left_at.is_(None))
        .group_by(TierAssignment.tier)
    )
    counts = dict.fromkeys((t.value for t in Tier), 0)
    counts.update(dict(rows.all()))
    return counts


async def members_in_tier(
    conn: AsyncConnection, space_id: int, tier: Tier, limit: int
) -> list[TierRow]:
    """The top members of one tier by score, with their reasons."""
    rows = await _ranked(conn, space_id, limit, TierAssignment.tier == tier.value)
    return [
        TierRow(
            member=member_ref(r),
            tier=r.tier,
            score=r.score,
            reasons=with_pin(r.reasons, r.pinned_at is not None),
            since=r.since,
            pinned=r.pinned_at is not None,
        )
        for r in rows
    ]


async def hero_candidates(
    conn: AsyncConnection, space_id: int, policy: TierPolicy, limit: int
) -> list[Candidate]:
    """Members at or near hero level who are not recognized heroes yet, best first."""
    recognized = select(RecognizedHero.member_id).where(
        RecognizedHero.space_id == space_id, RecognizedHero.removed_at.is_(None)
    )
    bar = policy.hero_score * policy.candidate_ratio
    return await _candidates(
        conn,
        space_id,
        policy,
        limit,
        TierAssignment.tier.in_([Tier.ACTIVE.value, Tier.HERO.value]),
        TierAssignment.score >= bar,
        TierAssignment.member_id.not_in(recognized),
    )


async def rising_actives(
    conn: AsyncConnection, space_id: int, policy: TierPolicy, limit: int
) -> list[Candidate]:
    """Passive members who started helping in the last four weeks."""
    return await _candidates(
        conn,
        space_id,
        policy,
        limit,
        TierAssignment.tier == Tier.PASSIVE.value,
        TierAssignment.recent_replies >= 1,
    )


async def _ranked(conn: AsyncConnection, space_id: int, limit: int, *conditions):
    """Current members' assignments matching CONDITIONS, highest score first."""
    return await conn.execute(
        select(
            Member.id,
            Member.platform_id,
            Member.display_name,
            TierAssignment.tier,
            TierAssignment.score,
            TierAssignment.recent_score,
            TierAssignment.prior_score,
            TierAssignment.reasons,
            TierAssignment.since,
            TierAssignment.pinned_at,
        )
        .join(TierAssignment, TierAssignment.member_id == Member.id)
        .where(TierAssignment.space_id == space_id, *conditions)
        .where(eligible_members(space_id), Member.left_at.is_(None))
        .order_by(TierAssignment.score.desc(), Member.id)
        .limit(limit)
    )


async def _candidates(conn, space_id, policy, limit, *conditions) -> list[Candidate]:
    rows = await _ranked(conn, space_id, limit, *conditions)
    return [
        Candidate(
            member=member_ref(r),
            tier=r.tier,
            score=round(r.score, 1),
            share_of_hero_bar=round(r.score / policy.hero_score, 2),
            trend=trend(r.recent_score, r.prior_score),
            reasons=with_pin(r.reasons, r.pinned_at is not None),
            pinned=r.pinned_at is not None,
        )
        for r in rows
    ]


async def set_pin(
    conn: AsyncConnection, member_id: int, pin: bool, staff: str, now: datetime
) -> str | None:
    """Pin or unpin a member's tier; the tier pinned, or None when there was nothing to change.

    Raises NotFoundError when the member holds no tier a pin could keep.
    """
    row = (
        await conn.execute(
            select(TierAssignment.tier, TierAssignment.pinned_at).where(
                TierAssignment.member_id == member_id
            )
        )
    ).first()
    if row is None or (pin and row.tier == Tier.PASSIVE.value and row.pinned_at is None):
        raise NotFoundError("that member holds no tier to pin yet (passive members cannot drop)")
    if pin == (row.pinned_at is not None):
        return None
    await conn.execute(
        update(TierAssignment)
        .where(TierAssignment.member_id == member_id)
        .values(pinned_by=staff if pin else None, pinned_at=now if pin else None)
    )
    return row.tier


async def members_at_risk(
    conn: AsyncConnection, space_id: int, policy: TierPolicy, limit: int
) -> list[AtRiskRow]:
    """Members whose next evaluations would demote them, soonest first, with what they miss."""
    rows = await conn.execute(
        select(
            Member.id,
            Member.platform_id,
            Member.display_name,
            TierAssignment.tier,
            TierAssignment.score,
            TierAssignment.active_weeks,
            TierAssignment.helped_members,
            TierAssignment.below_count,
            TierAssignment.promoted_at,
            TierAssignment.pinned_at,
            TierAssignment.evaluated_at,
            TierAssignment.at_risk_since,
            TierAssignment.at_risk_listed_at,
        )
        .join(TierAssignment, TierAssignment.member_id == Member.id)
        .where(
            TierAssignment.space_id == space_id,
            TierAssignment.tier != Tier.PASSIVE.value,
            TierAssignment.earned_tier != TierAssignment.tier,
            TierAssignment.pinned_at.is_(None),
        )
        .where(eligible_members(space_id), Member.left_at.is_(None))
    )
    listing = await needs_listing(conn, space_id, policy)
    out = []
    for r in rows:
        stats = MemberStats(
            score=r.score, active_weeks=r.active_weeks, helped_members=r.helped_members
        )
        risk = at_risk(
            stats, standing_of(r, listing), r.evaluated_at.astimezone(UTC).date(), policy
        )
        if risk is None:
            continue
        out.append(
            AtRiskRow(
                member=member_ref(r),
                tier=risk.tier.value,
                falls_to=risk.falls_to.value,
                missing=tuple(risk.missing),
                below_count=risk.below_count,
                earliest=risk.earliest,
                score=round(r.score, 1),
            )
        )
    out.sort(key=lambda row: (row.earliest, -Tier(row.tier).rank, row.score, row.member.id))
    return out[:limit]
