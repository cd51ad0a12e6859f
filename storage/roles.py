"""Roles Pulse gives on the platforms: who holds what, the changes made, and blocked roles."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from community.roles import Holder, RoleChange, RoleKind, may_warn
from community.tiers import Tier, TierPolicy
from community.views import AtRiskRow
from storage.engine import dialect_insert
from storage.models import (
    Member,
    MemberRole,
    Meta,
    RecognizedHero,
    RoleChangeRecord,
    TierAssignment,
)
from storage.tiers import members_at_risk

_BLOCKED = "role_blocked:"


async def role_state(
    conn: AsyncConnection, space_id: int
) -> tuple[list[Holder], dict[tuple[int, RoleKind], str]]:
    """Members the role rules must look at, and the roles Pulse last gave (by member and kind).

    Only members who hold a tier above passive, are recognized, or hold a role Pulse gave: the
    others neither want nor hold one.
    """
    held = {
        (r.member_id, RoleKind(r.role)): r.platform_role_id
        for r in await conn.execute(
            select(MemberRole.member_id, MemberRole.role, MemberRole.platform_role_id).where(
                MemberRole.space_id == space_id
            )
        )
    }
    recognized = select(RecognizedHero.member_id).where(
        RecognizedHero.space_id == space_id, RecognizedHero.removed_at.is_(None)
    )
    rows = await conn.execute(
        select(
            Member.id,
            Member.platform_id,
            Member.is_staff,
            Member.is_bot,
            Member.left_at,
            TierAssignment.tier,
            Member.id.in_(recognized).label("recognized"),
        )
        .outerjoin(TierAssignment, TierAssignment.member_id == Member.id)
        .where(Member.space_id == space_id)
        .where(
            or_(
                TierAssignment.tier.in_([Tier.ACTIVE.value, Tier.HERO.value]),
                Member.id.in_(recognized),
                Member.id.in_(select(MemberRole.member_id).where(MemberRole.space_id == space_id)),
            )
        )
        .order_by(Member.id)
    )
    holders = [
        Holder(
            member_id=r.id,
            platform_id=r.platform_id,
            tier=Tier(r.tier) if r.tier else Tier.PASSIVE,
            recognized=bool(r.recognized),
            eligible=not (r.is_staff or r.is_bot or r.left_at is not None),
        )
        for r in rows
    ]
    return holders, held


async def record_role_change(
    conn: AsyncConnection, space_id: int, change: RoleChange, now: datetime
) -> None:
    """Store a role change the platform made: what the member holds now, and the history."""
    if change.add:
        stmt = dialect_insert(conn, MemberRole).values(
            member_id=change.member_id,
            role=change.kind.value,
            space_id=space_id,
            platform_role_id=change.role_id,
            granted_at=now,
        )
        await conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["member_id", "role"],
                set_={"platform_role_id": change.role_id, "granted_at": now},
            )
        )
    else:
        await conn.execute(
            delete(MemberRole).where(
                MemberRole.member_id == change.member_id, MemberRole.role == change.kind.value
            )
        )
    await conn.execute(
        RoleChangeRecord.__table__.insert().values(
            space_id=space_id,
            member_id=change.member_id,
            role=change.kind.value,
            platform_role_id=change.role_id,
            action=change.action,
            reason=change.reason,
            at=now,
        )
    )


async def role_history(
    conn: AsyncConnection, member_id: int, now: datetime, limit: int = 10
) -> list[tuple[datetime, str, str, str]]:
    """A member's latest role changes: (when, role, added or removed, reason), newest first."""
    rows = await conn.execute(
        select(
            RoleChangeRecord.at, RoleChangeRecord.role, RoleChangeRecord.action,
            RoleChangeRecord.reason,
        )
        .where(RoleChangeRecord.member_id == member_id, RoleChangeRecord.at <= now)
        .order_by(RoleChangeRecord.at.desc(), RoleChangeRecord.id.desc())
        .limit(limit)
    )  # fmt: skip
    return [tuple(r) for r in rows]


async def block_role(conn: AsyncConnection, platform: str, role_id: str, why: str) -> bool:
    """Remember that Pulse cannot manage ROLE_ID; True the first time (when staff must be told)."""
    result = await conn.execute(
        dialect_insert(conn, Meta)
        .values(key=f"{_BLOCKED}{platform}:{role_id}", value=why)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    return bool(result.rowcount)


async def unblock_role(conn: AsyncConnection, platform: str, role_id: str) -> None:
    """Forget a block once Pulse managed the role again, so a new failure is reported again."""
    await conn.execute(delete(Meta).where(Meta.key == f"{_BLOCKED}{platform}:{role_id}"))


@dataclass(frozen=True, slots=True)
class WarningCandidate:
    """A member at risk who holds a role Pulse gave, and may be told so."""

    member_id: int
    platform_id: str
    roles: tuple[RoleKind, ...]
    risk: AtRiskRow


async def warning_candidates(
    conn: AsyncConnection, space_id: int, policy: TierPolicy, now: datetime, cooldown_days: int
) -> list[WarningCandidate]:
    """Members at risk who hold a visible role, are not away and were not warned lately."""
    risks = {r.member.id: r for r in await members_at_risk(conn, space_id, policy, limit=10_000)}
    if not risks:
        return []
    roles: dict[int, list[RoleKind]] = {}
    for member, role in await conn.execute(
        select(MemberRole.member_id, MemberRole.role).where(
            MemberRole.space_id == space_id, MemberRole.member_id.in_(list(risks))
        )
    ):
        roles.setdefault(member, []).append(RoleKind(role))
    rows = await conn.execute(
        select(Member.id, Member.platform_id, Member.away_until, TierAssignment.warned_at)
        .join(TierAssignment, TierAssignment.member_id == Member.id)
        .where(Member.id.in_(list(roles)))
        .order_by(Member.id)
    )
    return [
        WarningCandidate(r.id, r.platform_id, tuple(sorted(roles[r.id])), risks[r.id])
        for r in rows
        if may_warn(
            r.warned_at, r.away_until is not None and r.away_until > now, now, cooldown_days
        )
    ]


async def mark_warned(conn: AsyncConnection, member_id: int, now: datetime) -> None:
    """Remember that the member was warned at NOW (the cooldown starts)."""
    await conn.execute(
        update(TierAssignment).where(TierAssignment.member_id == member_id).values(warned_at=now)
    )
