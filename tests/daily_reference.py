"""The daily job as it was before issue 19's rework: the reference the new path must match.

Every eligible member is decided every day, and every member's last active day is read for
both steps; tests/storage/test_daily_job_equivalence.py runs it and the daily job side by
side, day after day, and compares what each stores.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased

from community.events import day_number, day_start
from community.quiet import (
    WATCHED_TIERS,
    ActiveSpan,
    FlagStatus,
    LiveFlag,
    QuietContext,
    QuietPolicy,
    ScanResult,
    flag_tier,
    gap_from_span,
    next_status,
    opens_flag,
)
from community.stability import decide
from community.tiers import MemberStats, Tier, TierPolicy, change_reasons, reasons
from storage.figures import (
    contribution_kinds,
    last_active_days,
    posted_or_contributed,
    window_stats,
)
from storage.helpgraph import answered, helped_members, not_indexed, replies_seen
from storage.members import eligible_members
from storage.models import (
    Activity,
    Channel,
    ChannelActivity,
    DailyRollup,
    Member,
    QuietFlag,
    TierAssignment,
    TierChange,
)
from storage.reclassify import ReclassifyResult, promoted_at, risk_moment, store_assignments
from storage.tiers import needs_listing, standing_of


async def reference_daily_job(
    conn: AsyncConnection, space_id: int, now: datetime, tiers: TierPolicy, quiet: QuietPolicy
) -> tuple[ReclassifyResult, ScanResult]:
    """Both steps as the old service ran them, on one aggregation of last active days."""
    last_active = await last_active_days(conn, space_id, day_number(now))
    result = await reference_reclassify(conn, space_id, now, tiers, last_active)
    scan = await reference_scan_quiet(conn, space_id, now, tiers, quiet, last_active)
    return result, scan


async def close_flag(conn: AsyncConnection, flag_id: int, status: FlagStatus, now) -> None:
    """Close one flag (the old scan's helper)."""
    await conn.execute(
        update(QuietFlag).where(QuietFlag.id == flag_id).values(status=status.value, closed_at=now)
    )


async def reference_reclassify(
    conn: AsyncConnection,
    space_id: int,
    now: datetime,
    policy: TierPolicy,
    last_active: dict[int, int] | None = None,
) -> ReclassifyResult:
    """The daily reclassification as it was: every eligible member decided, every day."""
    today = day_number(now)
    today_date = now.astimezone(UTC).date()
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
                TierAssignment.promoted_at,
                TierAssignment.pinned_at,
                TierAssignment.at_risk_since,
                TierAssignment.at_risk_listed_at,
            ).where(TierAssignment.space_id == space_id)
        )
    }
    listing = await needs_listing(conn, space_id, policy)
    window_start = day_start(today - policy.window_days + 1)
    kinds = await contribution_kinds(conn, space_id, window_start, now)
    empty = MemberStats()
    upserts, changes = [], []
    counts = dict.fromkeys((t.value for t in Tier), 0)
    for member in eligible:
        member_stats = stats.get(member, empty)
        old = current.get(member)
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
        text = reasons(
            decision.tier, member_stats, policy, kinds.get(member), earned=decision.earned
        )
        moved = old_tier is not decision.tier
        promoted = decision.tier.rank > (old_tier.rank if old_tier else 0)
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
                "promoted_at": promoted_at(decision.promoted_on, promoted, now, old),
                "at_risk_since": risk_since,
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
                    "reasons": change_reasons(
                        old_tier,
                        decision.tier,
                        member_stats,
                        policy,
                        kinds.get(member),
                        earned=decision.earned,
                    ),
                    "changed_at": now,
                }
            )
    await store_assignments(conn, upserts)
    if changes:
        await conn.execute(TierChange.__table__.insert(), changes)
    return ReclassifyResult(  # the same result type
        evaluated=len(eligible), written=len(upserts), changes=len(changes), counts=counts
    )


async def reference_scan_quiet(
    conn: AsyncConnection,
    space_id: int,
    now: datetime,
    tier_policy: TierPolicy,
    policy: QuietPolicy,
    last_active: dict[int, int] | None = None,
) -> ScanResult:
    """Open flags for members who went quiet; close flags of members who came back.

    The rules are `community.quiet` (`watched`, `next_status`, `opens_flag`); the SQL below
    narrows the community to the members `watched` accepts who were active in the lookback.
    """
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
        status = next_status(
            LiveFlag(FlagStatus(flag.status), flag.opened_at, flag.snoozed_until),
            last_active.get(member),
            now,
            policy,
        )
        if status is FlagStatus.RETURNED or status is FlagStatus.EXPIRED:
            await close_flag(conn, flag.id, status, now)
            returned += status is FlagStatus.RETURNED
            expired += status is FlagStatus.EXPIRED
            continue
        still_live.add(member)
        if status is FlagStatus.OPEN:
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
            TierChange.from_tier.in_(sorted(WATCHED_TIERS)),
            TierChange.changed_at > now - timedelta(days=policy.expiry_days),
        )
        .scalar_subquery()
    )
    lookback = policy.lookback_days(tier_policy.window_days)
    engaged_days = (
        select(r.member_id, func.min(r.day), func.max(r.day), func.count(), TierAssignment.tier)
        .join(Member, Member.id == r.member_id)
        .join(TierAssignment, TierAssignment.member_id == r.member_id)
        .where(
            r.space_id == space_id,
            posted_or_contributed(),
            r.day > today - lookback,
            r.day <= today,
            eligible_members(space_id),
            Member.left_at.is_(None),
            or_(Member.away_until.is_(None), Member.away_until <= now),
            or_(TierAssignment.tier.in_(sorted(WATCHED_TIERS)), r.member_id.in_(recently_demoted)),
        )
        .group_by(r.member_id, TierAssignment.tier)
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
    opened: list[int] = []
    for member, first, last, n, current_tier in await conn.execute(engaged_days):
        quiet = opens_flag(
            ActiveSpan(first, last, n),
            today,
            policy,
            has_live_flag=member in still_live,
            last_closed_at=closed_since.get(member),
        )
        if not quiet:
            continue
        gap = gap_from_span(first, last, n)
        silent = today - last
        tier = flag_tier(current_tier)
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


def last_question(space_id: int, member_id: int):
    """The member's last question whose replies could be seen, with whether it is answered."""
    q = aliased(Activity)
    return (
        select(q.occurred_at, answered(q).label("answered"))
        .where(
            # By the member's index: the space's time index walks the whole space backwards
            # when the member asked long ago or never (half a second a member at 5M rows).
            not_indexed(q.space_id) == space_id,
            q.member_id == member_id,
            q.is_question.is_(True),
            replies_seen(q),
        )
        .order_by(q.occurred_at.desc())
        .limit(1)
    )


async def last_unanswered_question(
    conn: AsyncConnection, space_id: int, member_id: int
) -> datetime | None:
    """When the member's last question was asked, if nobody else ever replied to it."""
    found = (await conn.execute(last_question(space_id, member_id))).first()
    if found is None or found.answered:
        return None
    return found.occurred_at
