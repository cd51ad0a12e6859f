"""Privacy: what Pulse holds about a member, forgetting them, and the retention purge."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from community.privacy import member_hash
from storage.engine import dialect_insert
from storage.helpgraph import helped_members
from storage.members import member_row
from storage.models import (
    Activity,
    Blocklist,
    ChannelActivity,
    Contribution,
    DailyRollup,
    HelpEdge,
    Member,
    MemberRole,
    Outreach,
    QuietFlag,
    RecognizedHero,
    RoleChangeRecord,
    Space,
    TierAssignment,
    TierChange,
)
from storage.recognition import is_recognized_hero


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


async def forget_member(
    conn: AsyncConnection, space_id: int, platform_id: str, key: bytes, now: datetime
) -> bool:
    """Opt a member out: delete everything about them and blocklist a keyed hash of their id."""
    space = (
        await conn.execute(select(Space.platform, Space.platform_id).where(Space.id == space_id))
    ).one()
    await conn.execute(
        dialect_insert(conn, Blocklist)
        .values(
            id_hash=member_hash(key, space.platform, space.platform_id, platform_id),
            added_at=now,
        )
        .on_conflict_do_nothing(index_elements=["id_hash"])
    )
    member_id = (
        await conn.execute(
            select(Member.id).where(Member.space_id == space_id, Member.platform_id == platform_id)
        )
    ).scalar_one_or_none()
    if member_id is None:
        return False
    # Other members' quiet flags name whom they helped: this member must leave those lists too.
    helpers = select(HelpEdge.helper_id).where(HelpEdge.helped_id == member_id)
    naming = (
        await conn.execute(
            select(QuietFlag.id, QuietFlag.member_id, QuietFlag.context).where(
                QuietFlag.member_id.in_(helpers)
            )
        )
    ).all()
    # Foreign keys cascade on both backends; deleting explicitly keeps it obvious and ordered.
    for model, column in (
        (Activity, Activity.member_id),
        (DailyRollup, DailyRollup.member_id),
        (HelpEdge, HelpEdge.helper_id),
        (HelpEdge, HelpEdge.helped_id),
        (ChannelActivity, ChannelActivity.member_id),
        (TierAssignment, TierAssignment.member_id),
        (TierChange, TierChange.member_id),
        (Outreach, Outreach.member_id),
        (QuietFlag, QuietFlag.member_id),
        (Contribution, Contribution.member_id),
        (RecognizedHero, RecognizedHero.member_id),
        (MemberRole, MemberRole.member_id),
        (RoleChangeRecord, RoleChangeRecord.member_id),
    ):
        await conn.execute(delete(model).where(column == member_id))
    await conn.execute(delete(Member).where(Member.id == member_id))
    for flag_id, helper, context in naming:
        helped, count = await helped_members(conn, helper)
        await conn.execute(
            update(QuietFlag)
            .where(QuietFlag.id == flag_id)
            .values(context={**(context or {}), "helped": list(helped), "helped_count": count})
        )
    return True


async def purge_activities(conn: AsyncConnection, older_than: datetime) -> int:
    """Delete raw activities older than the retention cut-off; rollups stay."""
    result = await conn.execute(delete(Activity).where(Activity.occurred_at < older_than))
    return result.rowcount or 0
