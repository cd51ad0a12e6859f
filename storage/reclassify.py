"""The daily reclassification: every member's tier as of a moment, written where it changed.

Most members of a large community are passive and had no activity in the window: no figures,
no pin that matters, no spell at risk, nothing counted below a bar, a stored score of zero.
The rules (`community.stability.decide`) cannot change anything for them and nothing about
them would be written; so only the members whose decision can differ are read and decided:
those with rollups in the window, those whose stored standing is not that inert one, and those
with no assignment yet. The rest are counted, not read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, delete, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from community.events import day_number, day_start
from community.stability import decide
from community.tiers import MemberStats, Tier, TierPolicy, change_reasons, reasons
from storage.engine import dialect_insert
from storage.figures import CHUNK, contribution_kinds, last_active_of, window_figures
from storage.members import eligible_members
from storage.models import Member, TierAssignment, TierChange
from storage.pg_bulk import upsert_rows
from storage.tiers import needs_listing, standing_of

_EMPTY = MemberStats()
_STANDING = (
    TierAssignment.member_id,
    TierAssignment.tier,
    TierAssignment.earned_tier,
    TierAssignment.below_count,
    TierAssignment.score,
    TierAssignment.since,
    TierAssignment.promoted_at,
    TierAssignment.pinned_at,
    TierAssignment.at_risk_since,
    TierAssignment.at_risk_listed_at,
)


@dataclass(frozen=True, slots=True)
class ReclassifyResult:
    """What one reclassification did."""

    evaluated: int
    written: int
    changes: int
    counts: dict[str, int]


def inert():
    """Assignments the rules leave as they are for a member with no figures in the window."""
    passive = Tier.PASSIVE.value
    return and_(
        TierAssignment.tier == passive,
        TierAssignment.earned_tier == passive,
        TierAssignment.below_count == 0,
        TierAssignment.at_risk_since.is_(None),
        TierAssignment.score == 0.0,
    )


async def _standings(
    conn: AsyncConnection, space_id: int, windowed: set[int]
) -> tuple[int, dict[int, object], list[int]]:
    """How many members are eligible, the assignments to decide, the members without one.

    The assignments read: every one that is not inert, and the inert ones of WINDOWED members.
    Only eligible members hold assignments by now (reclassify deleted the others), so the
    assignments are read without their members.
    """
    counted = select(func.count()).select_from(Member).where(eligible_members(space_id))
    eligible = (await conn.execute(counted)).scalar_one()
    in_space = TierAssignment.space_id == space_id
    held = select(func.count()).select_from(TierAssignment).where(in_space)
    unassigned: list[int] = []
    if (await conn.execute(held)).scalar_one() < eligible:
        unassigned = list(
            (
                await conn.execute(
                    select(Member.id)
                    .outerjoin(TierAssignment, TierAssignment.member_id == Member.id)
                    .where(eligible_members(space_id), TierAssignment.member_id.is_(None))
                )
            ).scalars()
        )
    rows = await conn.execute(select(*_STANDING).where(in_space, ~inert()))
    current = {row.member_id: row for row in rows}
    rest = sorted(windowed.difference(current))
    for start in range(0, len(rest), CHUNK):
        chunk = rest[start : start + CHUNK]
        rows = await conn.execute(
            select(*_STANDING).where(in_space, TierAssignment.member_id.in_(chunk))
        )
        current.update((row.member_id, row) for row in rows)
    return eligible, current, unassigned


async def reclassify(
    conn: AsyncConnection, space_id: int, now: datetime, policy: TierPolicy
) -> ReclassifyResult:
    """Recompute every member's tier as of NOW, keeping history of the changes."""
    today = day_number(now)
    today_date = now.astimezone(UTC).date()
    # Staff and bots never hold a tier, even if they did before being marked.
    await conn.execute(
        delete(TierAssignment).where(
            TierAssignment.space_id == space_id,
            TierAssignment.member_id.not_in(select(Member.id).where(eligible_members(space_id))),
        )
    )
    stats = await window_figures(conn, space_id, today, policy)
    eligible, current, unassigned = await _standings(conn, space_id, set(stats))
    listing = await needs_listing(conn, space_id, policy)
    kinds = await contribution_kinds(conn, space_id, day_start(today - policy.window_days + 1), now)
    upserts, changes = [], []
    counts = dict.fromkeys((t.value for t in Tier), 0)
    # Every eligible member not decided below holds an inert passive assignment.
    counts[Tier.PASSIVE.value] = eligible - len(current) - len(unassigned)
    members = [(m, current[m]) for m in current] + [(m, None) for m in unassigned]
    for member, old in members:
        member_stats = stats.get(member, _EMPTY)
        old_tier = Tier(old.tier) if old else None
        decision = decide(member_stats, standing_of(old, listing), today_date, policy)
        risk_since = risk_moment(decision.at_risk_since, old, now)
        counts[decision.tier.value] += 1
        unchanged = (
            old is not None
            and old_tier is decision.tier
            and old.earned_tier == decision.earned.value
            and old.below_count == decision.below_count
            and old.at_risk_since == risk_since
            and round(old.score, 2) == round(member_stats.score, 2)
            and member_stats.score == 0.0
        )
        if unchanged:
            continue
        member_kinds = kinds.get(member)
        text = reasons(decision.tier, member_stats, policy, member_kinds, earned=decision.earned)
        moved = old_tier is not decision.tier
        promoted = decision.tier.rank > (old_tier.rank if old_tier else 0)
        row = {
            "member_id": member,
            "space_id": space_id,
            "tier": decision.tier.value,
            "earned_tier": decision.earned.value,
            "score": round(member_stats.score, 4),
            "active_weeks": member_stats.active_weeks,
            "window_weeks": policy.window_weeks,
            "helped_members": member_stats.helped_members,
            "answers": member_stats.answers,
            "thanks_received": member_stats.thanks_received,
            "contributions": member_stats.contributions,
            "recent_score": round(member_stats.recent_score, 4),
            "prior_score": round(member_stats.prior_score, 4),
            "recent_replies": member_stats.recent_replies,
            "last_active_day": member_stats.last_active_day,
            "below_count": decision.below_count,
            "reasons": text,
            "since": now if moved or old is None else old.since,
            "evaluated_at": now,
            "promoted_at": promoted_at(decision.promoted_on, promoted, now, old),
            "at_risk_since": risk_since,
        }
        upserts.append(row)
        # A first passive assignment is not news; every other move is history.
        if moved and not (old_tier is None and decision.tier is Tier.PASSIVE):
            changes.append(
                {
                    "space_id": space_id,
                    "member_id": member,
                    "from_tier": old_tier.value if old_tier else None,
                    "to_tier": decision.tier.value,
                    "score": round(member_stats.score, 4),
                    "reasons": change_reasons(
                        old_tier,
                        decision.tier,
                        member_stats,
                        policy,
                        member_kinds,
                        earned=decision.earned,
                    ),
                    "changed_at": now,
                }
            )
    await _fill_last_active(conn, space_id, today, upserts, stats)
    await store_assignments(conn, upserts)
    if changes:
        await conn.execute(TierChange.__table__.insert(), changes)
    return ReclassifyResult(
        evaluated=eligible, written=len(upserts), changes=len(changes), counts=counts
    )


async def _fill_last_active(
    conn: AsyncConnection, space_id: int, today: int, rows: list[dict], stats: dict
) -> None:
    """Give ROWS of members with no rollups in the window their last active day from before."""
    outside = [row for row in rows if row["member_id"] not in stats]
    found = await last_active_of(conn, space_id, today, (row["member_id"] for row in outside))
    for row in outside:
        row["last_active_day"] = found.get(row["member_id"])


async def store_assignments(conn: AsyncConnection, rows: list[dict]) -> None:
    """Insert or update ROWS of tier_assignments by member, in member order."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        # Hundreds of thousands of rows a day at a million members: COPY, not VALUES lists.
        await upsert_rows(conn, TierAssignment.__table__, rows, ["member_id"])
        return
    stmt = dialect_insert(conn, TierAssignment)
    columns = [k for k in rows[0] if k != "member_id"]
    stmt = stmt.on_conflict_do_update(
        index_elements=["member_id"], set_={c: stmt.excluded[c] for c in columns}
    )
    # Key order: two writers lock rows in the same order.
    rows = sorted(rows, key=lambda row: row["member_id"])
    for start in range(0, len(rows), 5000):
        await conn.execute(stmt, rows[start : start + 5000])


def risk_moment(since, old, now: datetime) -> datetime | None:
    """The spell at risk to store: the stored moment while it lasts, NOW when it starts."""
    if since is None:
        return None
    kept = old.at_risk_since if old is not None else None
    if kept is not None and kept.astimezone(UTC).date() == since:
        return kept
    return now


def promoted_at(promoted_on, promoted: bool, now: datetime, old) -> datetime | None:
    """The promotion moment to store: NOW when this evaluation promoted, else the one kept."""
    if promoted_on is None:
        return None
    if promoted or old is None:
        return now
    return old.promoted_at
