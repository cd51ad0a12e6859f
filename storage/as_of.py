"""Tier reads as of a past day, recomputed by replaying the daily evaluations (storage.history)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from community.events import day_start
from community.stability import with_pin
from community.tiers import MemberStats, Tier, TierPolicy, reasons, trend
from community.views import Candidate, TierRow
from storage.figures import contribution_kinds
from storage.history import Held, tiers_as_of
from storage.members import eligible_members, member_ref
from storage.models import Member, RecognizedHero, TierAssignment, TierChange

_EMPTY = MemberStats()


def _present_at(space_id: int, moment: datetime):
    return and_(
        eligible_members(space_id),
        (Member.left_at.is_(None)) | (Member.left_at > moment),
        (Member.joined_at.is_(None)) | (Member.joined_at <= moment),
    )


async def present_members(conn: AsyncConnection, space_id: int, moment: datetime) -> list:
    """Members tiers considered at MOMENT: people who had joined and not yet left."""
    rows = await conn.execute(
        select(Member.id, Member.platform_id, Member.display_name).where(
            _present_at(space_id, moment)
        )
    )
    return list(rows)


async def window_kinds(
    conn: AsyncConnection, space_id: int, day: int, moment: datetime, policy: TierPolicy
) -> dict[int, dict[str, int]]:
    """Contribution kinds per member in the window ending at MOMENT on DAY, for reasons."""
    return await contribution_kinds(conn, space_id, day_start(day - policy.window_days + 1), moment)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The community at the end of a day, recomputed: who was present, and the tiers held."""

    day: int
    moment: datetime
    members: dict[int, Any]
    held: dict[int, Held]

    def tier_counts(self) -> dict[str, int]:
        """Members per tier (members without figures held passive)."""
        counts = dict.fromkeys((t.value for t in Tier), 0)
        for member in self.members:
            h = self.held.get(member)
            counts[(h.tier if h else Tier.PASSIVE).value] += 1
        return counts

    def ranked(self, keep) -> list[tuple[Any, Held]]:
        """Present members KEEP(member id, held, figures) accepts, ordered as stored lists are."""
        rows = [
            (self.members[m], h) for m, h in self.held.items() if keep(m, h, h.figures(self.day))
        ]
        rows.sort(key=lambda item: (-_score(item[1], self.day), item[0].id))
        return rows


def _score(h: Held | None, day: int) -> float:
    # As stored: four places.
    return round(h.figures(day).score, 4) if h else 0.0


async def snapshot(
    conn: AsyncConnection, space_id: int, day: int, moment: datetime, policy: TierPolicy
) -> Snapshot:
    """The community at the end of DAY (MOMENT, if DAY is today); nothing is written."""
    members = {r.id: r for r in await present_members(conn, space_id, moment)}
    held = await tiers_as_of(conn, space_id, day, policy)
    return Snapshot(day, moment, members, {m: h for m, h in held.items() if m in members})


async def _since(
    conn: AsyncConnection, members: list[int], moment: datetime
) -> dict[int, tuple[str, datetime]]:
    """Each member's last stored move at or before MOMENT: (tier moved to, when)."""
    found: dict[int, tuple[str, datetime]] = {}
    for member, tier, since in await conn.execute(
        select(TierAssignment.member_id, TierAssignment.tier, TierAssignment.since).where(
            TierAssignment.member_id.in_(members), TierAssignment.since <= moment
        )
    ):
        found[member] = (tier, since)
    for member, tier, at in await conn.execute(
        select(TierChange.member_id, TierChange.to_tier, TierChange.changed_at)
        .where(TierChange.member_id.in_(members), TierChange.changed_at <= moment)
        .order_by(TierChange.changed_at, TierChange.id)
    ):
        if member not in found or found[member][1] <= at:
            found[member] = (tier, at)
    return found


async def members_in_tier_as_of(
    conn: AsyncConnection,
    space_id: int,
    snap: Snapshot,
    tier: Tier,
    limit: int,
    policy: TierPolicy,
) -> list[TierRow]:
    """The top members of one tier in SNAP, with reasons in that day's figures."""
    rows: list[tuple[Any, Held | None]] = list(snap.ranked(lambda m, h, s: h.tier is tier))
    if tier is Tier.PASSIVE:
        # Members without figures score 0, ranked among the others as the stored list ranks them.
        rows += [(r, None) for m, r in snap.members.items() if m not in snap.held]
        rows.sort(key=lambda item: (-_score(item[1], snap.day), item[0].id))
    page = rows[:limit]
    kinds = await window_kinds(conn, space_id, snap.day, snap.moment, policy)
    since = await _since(conn, [r.id for r, _ in page], snap.moment)
    out = []
    for row, h in page:
        stats = h.figures(snap.day) if h else _EMPTY
        moved = since.get(row.id)
        if moved and moved[0] == tier.value:
            held_since = moved[1]
        else:
            held_since = (h.since if h else None) or snap.moment
        out.append(
            TierRow(
                member=member_ref(row),
                tier=tier.value,
                score=round(stats.score, 4),
                reasons=with_pin(
                    reasons(tier, stats, policy, kinds.get(row.id), earned=h.earned if h else tier),
                    h is not None and h.pinned,
                ),
                since=held_since,
                pinned=h is not None and h.pinned,
            )
        )
    return out


async def _candidates_as_of(conn, space_id, snap: Snapshot, policy, limit, keep) -> list[Candidate]:
    page = snap.ranked(keep)[:limit]
    kinds = await window_kinds(conn, space_id, snap.day, snap.moment, policy)
    out = []
    for row, h in page:
        stats = h.figures(snap.day)
        score = round(stats.score, 4)
        out.append(
            Candidate(
                member=member_ref(row),
                tier=h.tier.value,
                score=round(score, 1),
                share_of_hero_bar=round(score / policy.hero_score, 2),
                trend=trend(round(stats.recent_score, 4), round(stats.prior_score, 4)),
                reasons=with_pin(
                    reasons(h.tier, stats, policy, kinds.get(row.id), earned=h.earned), h.pinned
                ),
                pinned=h.pinned,
            )
        )
    return out


async def hero_candidates_as_of(
    conn: AsyncConnection, space_id: int, snap: Snapshot, policy: TierPolicy, limit: int
) -> list[Candidate]:
    """Hero candidates in SNAP: active or hero, near the bar, not recognized by then."""
    moment = snap.moment
    recognized = set(
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
    bar = policy.hero_score * policy.candidate_ratio

    def keep(member: int, h: Held, stats: MemberStats) -> bool:
        return (
            h.tier is not Tier.PASSIVE and round(stats.score, 4) >= bar and member not in recognized
        )

    return await _candidates_as_of(conn, space_id, snap, policy, limit, keep)


async def rising_actives_as_of(
    conn: AsyncConnection, space_id: int, snap: Snapshot, policy: TierPolicy, limit: int
) -> list[Candidate]:
    """Passive members in SNAP who had started helping in the four weeks before."""

    def keep(member: int, h: Held, stats: MemberStats) -> bool:
        return h.tier is Tier.PASSIVE and stats.recent_replies >= 1

    return await _candidates_as_of(conn, space_id, snap, policy, limit, keep)
