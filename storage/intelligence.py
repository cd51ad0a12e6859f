"""Whole-community computations as SQL over the rollups: reclassification and the quiet scan.

SQL aggregates each member's window into a handful of numbers in one pass; the rules in
`community.tiers` and `community.quiet` then decide. Nothing here runs a query per member,
except to gather outreach context for the few members a scan newly flags.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, delete, distinct, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased

from community.events import day_number, day_start
from community.quiet import (
    FlagStatus,
    QuietContext,
    QuietPolicy,
    ScanResult,
    gap_from_span,
    is_quiet,
)
from community.tiers import (
    COUNT_FIELDS,
    TREND_DAYS,
    MemberStats,
    Tier,
    TierPolicy,
    decide,
    reasons,
)
from storage.engine import dialect_insert
from storage.helpgraph import answered, replies_seen
from storage.models import (
    Activity,
    Channel,
    ChannelActivity,
    Contribution,
    DailyRollup,
    HelpEdge,
    Member,
    QuietFlag,
    TierAssignment,
    TierChange,
)

ACTIVE_TIERS = (Tier.ACTIVE.value, Tier.HERO.value)


def _points(policy: TierPolicy):
    r = DailyRollup
    return sum(
        (getattr(r, f) * literal(policy.weight(f)) for f in COUNT_FIELDS), start=literal(0.0)
    )


def _engaged():
    return or_(DailyRollup.messages > 0, DailyRollup.contributions > 0)


def eligible_members(space_id: int):
    """Members that tiers and rankings consider: not staff, not bots."""
    return and_(Member.space_id == space_id, Member.is_staff.is_(False), Member.is_bot.is_(False))


async def last_active_days(conn: AsyncConnection, space_id: int, today: int) -> dict[int, int]:
    """Each member's last day with a post or contribution, up to TODAY."""
    r = DailyRollup
    rows = await conn.execute(
        select(r.member_id, func.max(r.day))
        .where(r.space_id == space_id, r.day <= today, _engaged())
        .group_by(r.member_id)
    )
    return dict(rows.all())


async def window_stats(
    conn: AsyncConnection,
    space_id: int,
    today: int,
    policy: TierPolicy,
    last_active: dict[int, int] | None = None,
) -> dict[int, MemberStats]:
    """Every member's window statistics, aggregated in SQL (the SQL path)."""
    r = DailyRollup
    age = literal(today) - r.day
    points = _points(policy)
    decay = literal(1.0) - literal(1.0 - policy.decay_floor) * (age * literal(1.0)) / literal(
        float(policy.window_days)
    )
    in_window = and_(r.space_id == space_id, r.day > today - policy.window_days, r.day <= today)
    rows = await conn.execute(
        select(
            r.member_id,
            func.sum(points * decay),
            func.count(distinct(case((_engaged(), age // literal(7)), else_=None))),
            func.sum(r.answers),
            func.sum(r.replies),
            func.sum(r.thanks_received),
            func.sum(r.contributions),
            func.sum(r.messages),
            func.sum(case((age < TREND_DAYS, points), else_=literal(0.0))),
            func.sum(case((and_(age >= TREND_DAYS, age < 2 * TREND_DAYS), points), else_=0.0)),
            func.sum(case((age < TREND_DAYS, r.replies), else_=0)),
            func.sum(r.accepted_answers),
        )
        .where(in_window)
        .group_by(r.member_id)
    )
    helped = dict(
        (
            await conn.execute(
                select(HelpEdge.helper_id, func.count())
                .where(
                    HelpEdge.space_id == space_id,
                    HelpEdge.last_day > today - policy.window_days,
                    HelpEdge.first_day <= today,
                )
                .group_by(HelpEdge.helper_id)
            )
        ).all()
    )
    if last_active is None:
        last_active = await last_active_days(conn, space_id, today)
    stats = {}
    for row in rows:
        member = row[0]
        stats[member] = MemberStats(
            score=max(float(row[1] or 0.0), 0.0),
            active_weeks=int(row[2] or 0),
            helped_members=int(helped.get(member, 0)),
            answers=int(row[3] or 0),
            replies=int(row[4] or 0),
            thanks_received=int(row[5] or 0),
            contributions=int(row[6] or 0),
            messages=int(row[7] or 0),
            accepted_answers=int(row[11] or 0),
            recent_score=max(float(row[8] or 0.0), 0.0),
            prior_score=max(float(row[9] or 0.0), 0.0),
            recent_replies=int(row[10] or 0),
            last_active_day=last_active.get(member),
        )
    for member, day in last_active.items():
        if member not in stats:
            stats[member] = MemberStats(last_active_day=day)
    return stats


async def contribution_kinds(
    conn: AsyncConnection, space_id: int, since: datetime, until: datetime
) -> dict[int, dict[str, int]]:
    """Logged contributions per member and kind between two moments."""
    rows = await conn.execute(
        select(Contribution.member_id, Contribution.kind, func.count())
        .where(
            Contribution.space_id == space_id,
            Contribution.occurred_at > since,
            Contribution.occurred_at <= until,
        )
        .group_by(Contribution.member_id, Contribution.kind)
    )
    kinds: dict[int, dict[str, int]] = defaultdict(dict)
    for member, kind, n in rows:
        kinds[member][kind] = n
    return kinds


@dataclass(frozen=True, slots=True)
class ReclassifyResult:
    """What one reclassification did."""

    evaluated: int
    written: int
    changes: int
    counts: dict[str, int]


async def reclassify(
    conn: AsyncConnection,
    space_id: int,
    now: datetime,
    policy: TierPolicy,
    last_active: dict[int, int] | None = None,
) -> ReclassifyResult:
    """Recompute every member's tier as of NOW, keeping history of the changes."""
    today = day_number(now)
    stats = await window_stats(conn, space_id, today, policy, last_active)
    members = (await conn.execute(select(Member.id).where(eligible_members(space_id)))).scalars()
    eligible = set(members)
    # Staff and bots never hold a tier, even if they did before being marked.
    await conn.execute(
        delete(TierAssignment).where(
            TierAssignment.space_id == space_id,
            TierAssignment.member_id.not_in(select(Member.id).where(eligible_members(space_id))),
        )
    )
    current = {
        row.member_id: row
        for row in await conn.execute(
            select(
                TierAssignment.member_id,
                TierAssignment.tier,
                TierAssignment.earned_tier,
                TierAssignment.below_count,
                TierAssignment.score,
                TierAssignment.since,
            ).where(TierAssignment.space_id == space_id)
        )
    }
    window_start = day_start(today - policy.window_days + 1)
    kinds = await contribution_kinds(conn, space_id, window_start, now)
    empty = MemberStats()
    upserts, changes = [], []
    counts = dict.fromkeys((t.value for t in Tier), 0)
    for member in eligible:
        member_stats = stats.get(member, empty)
        old = current.get(member)
        old_tier = Tier(old.tier) if old else None
        decision = decide(member_stats, old_tier, old.below_count if old else 0, policy)
        counts[decision.tier.value] += 1
        unchanged = (
            old is not None
            and old_tier is decision.tier
            and old.earned_tier == decision.earned.value
            and old.below_count == decision.below_count
            and round(old.score, 2) == round(member_stats.score, 2)
            and member_stats.score == 0.0
        )
        if unchanged:
            continue
        text = reasons(
            decision.tier, member_stats, policy, kinds.get(member), earned=decision.earned
        )
        moved = old_tier is not decision.tier
        upserts.append(
            {
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
            }
        )
        # A first passive assignment is not news; every other move is history.
        if moved and not (old_tier is None and decision.tier is Tier.PASSIVE):
            changes.append(
                {
                    "space_id": space_id,
                    "member_id": member,
                    "from_tier": old_tier.value if old_tier else None,
                    "to_tier": decision.tier.value,
                    "score": round(member_stats.score, 4),
                    "reasons": text,
                    "changed_at": now,
                }
            )
    if upserts:
        stmt = dialect_insert(conn, TierAssignment)
        columns = [k for k in upserts[0] if k != "member_id"]
        stmt = stmt.on_conflict_do_update(
            index_elements=["member_id"], set_={c: stmt.excluded[c] for c in columns}
        )
        upserts.sort(key=lambda row: row["member_id"])
        for start in range(0, len(upserts), 5000):
            await conn.execute(stmt, upserts[start : start + 5000])
    if changes:
        await conn.execute(TierChange.__table__.insert(), changes)
    return ReclassifyResult(
        evaluated=len(eligible), written=len(upserts), changes=len(changes), counts=counts
    )


# --- quiet members ---------------------------------------------------------------------------


async def scan_quiet(
    conn: AsyncConnection,
    space_id: int,
    now: datetime,
    tier_policy: TierPolicy,
    policy: QuietPolicy,
    last_active: dict[int, int] | None = None,
) -> ScanResult:
    """Open flags for members who went quiet; close flags of members who came back."""
    today = day_number(now)
    r = DailyRollup
    if last_active is None:
        last_active = await last_active_days(conn, space_id, today)
    live = {
        flag.member_id: flag
        for flag in (
            await conn.execute(
                select(QuietFlag).where(
                    QuietFlag.space_id == space_id,
                    QuietFlag.status.in_([FlagStatus.OPEN.value, FlagStatus.SNOOZED.value]),
                )
            )
        )
    }
    returned = expired = reopened = 0
    still_live: set[int] = set()
    for member, flag in live.items():
        last = last_active.get(member)
        if last is not None and last >= day_number(flag.opened_at):
            await _close_flag(conn, flag.id, FlagStatus.RETURNED, now)
            returned += 1
            continue
        if flag.opened_at <= now - timedelta(days=policy.expiry_days):
            await _close_flag(conn, flag.id, FlagStatus.EXPIRED, now)
            expired += 1
            continue
        still_live.add(member)
        if flag.status == FlagStatus.SNOOZED and flag.snoozed_until and flag.snoozed_until <= now:
            await conn.execute(
                update(QuietFlag)
                .where(QuietFlag.id == flag.id)
                .values(status=FlagStatus.OPEN.value, snoozed_until=None)
            )
            reopened += 1

    # Who was active or a hero: by current tier, or demoted from one while going quiet.
    recently_demoted = (
        select(TierChange.member_id)
        .where(
            TierChange.space_id == space_id,
            TierChange.from_tier.in_(ACTIVE_TIERS),
            TierChange.changed_at > now - timedelta(days=policy.expiry_days),
        )
        .scalar_subquery()
    )
    lookback = 2 * tier_policy.window_days
    engaged_days = (
        select(r.member_id, func.min(r.day), func.max(r.day), func.count())
        .join(Member, Member.id == r.member_id)
        .join(TierAssignment, TierAssignment.member_id == r.member_id)
        .where(
            r.space_id == space_id,
            _engaged(),
            r.day > today - lookback,
            r.day <= today,
            eligible_members(space_id),
            Member.left_at.is_(None),
            or_(Member.away_until.is_(None), Member.away_until <= now),
            or_(TierAssignment.tier.in_(ACTIVE_TIERS), r.member_id.in_(recently_demoted)),
        )
        .group_by(r.member_id)
        .having(func.max(r.day) <= today - policy.min_days)
    )
    # A member whose last flag was dismissed or expired stays off the list until they return.
    closed_since = dict(
        (
            await conn.execute(
                select(QuietFlag.member_id, func.max(QuietFlag.opened_at))
                .where(
                    QuietFlag.space_id == space_id,
                    QuietFlag.status.in_([FlagStatus.DISMISSED.value, FlagStatus.EXPIRED.value]),
                )
                .group_by(QuietFlag.member_id)
            )
        ).all()
    )
    tiers = dict(
        (
            await conn.execute(
                select(TierAssignment.member_id, TierAssignment.tier).where(
                    TierAssignment.space_id == space_id
                )
            )
        ).all()
    )
    opened: list[int] = []
    for member, first, last, n in await conn.execute(engaged_days):
        if member in still_live:
            continue
        if member in closed_since and last < day_number(closed_since[member]):
            continue
        gap = gap_from_span(first, last, n)
        silent = today - last
        if not is_quiet(silent, gap, policy):
            continue
        tier = tiers.get(member, Tier.PASSIVE.value)
        if tier not in ACTIVE_TIERS:
            tier = Tier.ACTIVE.value  # demoted while quiet: they were active before
        context = await outreach_context(conn, space_id, member, last, silent, gap, tier)
        await conn.execute(
            QuietFlag.__table__.insert().values(
                space_id=space_id,
                member_id=member,
                status=FlagStatus.OPEN.value,
                opened_at=now,
                last_seen_at=context.last_seen,
                usual_gap_days=gap if gap is not None else 0.0,
                silent_days=float(silent),
                tier=tier,
                context=context.to_json(),
            )
        )
        opened.append(member)
    return ScanResult(
        opened=len(opened),
        returned=returned,
        expired=expired,
        reopened_from_snooze=reopened,
        flagged_member_ids=tuple(opened),
    )


async def _close_flag(conn: AsyncConnection, flag_id: int, status: FlagStatus, now) -> None:
    await conn.execute(
        update(QuietFlag).where(QuietFlag.id == flag_id).values(status=status.value, closed_at=now)
    )


async def outreach_context(
    conn: AsyncConnection,
    space_id: int,
    member_id: int,
    last_day: int,
    silent_days: int,
    gap: float | None,
    tier: str,
) -> QuietContext:
    """Gather what staff need to reach out to one quiet member."""
    channels = (
        await conn.execute(
            select(func.coalesce(Channel.name, Channel.platform_id))
            .join(ChannelActivity, ChannelActivity.channel_id == Channel.id)
            .where(ChannelActivity.member_id == member_id)
            .order_by(ChannelActivity.posts.desc(), Channel.id)
            .limit(3)
        )
    ).scalars()
    helped, helped_count = await helped_members(conn, member_id)
    last_seen = (
        await conn.execute(
            select(func.max(Activity.occurred_at)).where(
                Activity.member_id == member_id,
                Activity.kind.in_(["message", "reply", "thread_started", "contribution_logged"]),
            )
        )
    ).scalar_one() or day_start(last_day)
    return QuietContext(
        last_seen=last_seen,
        silent_days=silent_days,
        usual_gap_days=round(gap, 1) if gap is not None else None,
        tier=tier,
        channels=tuple(channels),
        unanswered_question_at=await last_unanswered_question(conn, space_id, member_id),
        helped=helped,
        helped_count=helped_count,
    )


async def helped_members(conn: AsyncConnection, member_id: int) -> tuple[tuple[str, ...], int]:
    """The (up to) three members MEMBER_ID helped most, by name, and how many they helped."""
    names = (
        await conn.execute(
            select(func.coalesce(Member.display_name, Member.platform_id))
            .join(HelpEdge, HelpEdge.helped_id == Member.id)
            .where(HelpEdge.helper_id == member_id)
            .order_by(HelpEdge.replies.desc(), Member.id)
            .limit(3)
        )
    ).scalars()
    count = (
        await conn.execute(
            select(func.count()).select_from(HelpEdge).where(HelpEdge.helper_id == member_id)
        )
    ).scalar_one()
    return tuple(names), count


async def last_unanswered_question(
    conn: AsyncConnection, space_id: int, member_id: int
) -> datetime | None:
    """When the member's last question was asked, if nobody else ever replied to it."""
    q = aliased(Activity)
    last_question = (
        await conn.execute(
            select(q.occurred_at, answered(q).label("answered"))
            .where(
                q.space_id == space_id,
                q.member_id == member_id,
                q.is_question.is_(True),
                replies_seen(q),
            )
            .order_by(q.occurred_at.desc())
            .limit(1)
        )
    ).first()
    if last_question is None or last_question.answered:
        return None
    return last_question.occurred_at


async def set_flag_status(
    conn: AsyncConnection,
    flag_id: int,
    status: FlagStatus,
    now: datetime,
    snoozed_until: datetime | None = None,
) -> None:
    """Snooze or dismiss a flag (staff actions)."""
    values: dict = {"status": status.value}
    if status is FlagStatus.SNOOZED:
        values["snoozed_until"] = snoozed_until
    else:
        values["closed_at"] = now
    await conn.execute(update(QuietFlag).where(QuietFlag.id == flag_id).values(**values))
