"""Quiet flags: the daily scan that opens and closes them, the quiet list, staff status changes."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, update
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
from community.tiers import Tier, TierPolicy
from community.views import MemberRef, QuietEntry
from storage.engine import greatest, whole_days_between
from storage.figures import last_active_days, posted_or_contributed
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


async def scan_quiet(
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
            await _close_flag(conn, flag.id, status, now)
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


def live_flag(space_id: int, now: datetime):
    """Conditions on QuietFlag and Member: the flag is live at NOW and its member not away.

    Live: open on NOW's day, or a snooze that ran out. A read as of a past day sees the flags
    opened by then and not closed before its end; by whole days, so a flag another process
    opened a moment "later" today still shows.
    """
    return and_(
        _flag_live(space_id, now), or_(Member.away_until.is_(None), Member.away_until <= now)
    )


def _flag_live(space_id: int, now: datetime):
    """Conditions on QuietFlag alone: the flag is live at NOW (see live_flag)."""
    next_day = day_start(day_number(now) + 1)
    return and_(
        QuietFlag.space_id == space_id,
        QuietFlag.opened_at < next_day,
        or_(
            QuietFlag.status == FlagStatus.OPEN.value,
            (QuietFlag.status == FlagStatus.SNOOZED.value) & (QuietFlag.snoozed_until <= now),
            QuietFlag.closed_at >= next_day,
        ),
    )


def _live_flags(space_id: int, now: datetime, *columns):
    """COLUMNS of the live flags at NOW whose member is not away (see live_flag)."""
    # The away members are a handful (ix_members_away): leaving them out reads a few rows,
    # where joining every flag to its member read thousands of member rows (at a million
    # members PostgreSQL hashed the whole members table).
    away = select(Member.id).where(
        Member.space_id == space_id, Member.away_until.is_not(None), Member.away_until > now
    )
    return select(*columns).where(_flag_live(space_id, now), QuietFlag.member_id.not_in(away))


async def quiet_list(
    conn: AsyncConnection,
    space_id: int,
    now: datetime,
    limit: int,
    member_id: int | None = None,
) -> list[QuietEntry]:
    """Open quiet flags (and snoozes that ran out), strongest signal first."""
    # Rank in SQL on the flags' own columns and read only the page: decoding every live flag to
    # sort it in Python cost more than the whole query at a million members.
    ranked = _live_flags(space_id, now, QuietFlag.id)
    if member_id is not None:
        ranked = ranked.where(QuietFlag.member_id == member_id)
    page = (await conn.execute(ranked.order_by(*_strongest_first(now)).limit(limit))).all()
    if not page:
        return []
    rows = await conn.execute(
        select(
            QuietFlag.id,
            QuietFlag.status,
            QuietFlag.opened_at,
            QuietFlag.closed_at,
            QuietFlag.context,
            Member.id.label("member_id"),
            Member.platform_id,
            Member.display_name,
        )
        .join(Member, Member.id == QuietFlag.member_id)
        .where(QuietFlag.id.in_([r.id for r in page]))
    )
    by_id = {r.id: r for r in rows}
    return [
        QuietEntry(
            flag_id=r.id,
            member=MemberRef(
                id=r.member_id, platform_id=r.platform_id, name=r.display_name or r.platform_id
            ),
            # Closed after NOW's day (a read as of a past day): it was still open then.
            status=r.status if r.closed_at is None else FlagStatus.OPEN.value,
            opened_at=r.opened_at,
            context=_as_of(QuietContext.from_json(r.context), now),
        )
        for r in (by_id[p.id] for p in page)
    ]


async def quiet_count(conn: AsyncConnection, space_id: int, now: datetime) -> int:
    """How many members the quiet list holds at NOW."""
    live = _live_flags(space_id, now, QuietFlag.id).subquery()
    return (await conn.execute(select(func.count()).select_from(live))).scalar_one()


def _strongest_first(now: datetime) -> tuple:
    """The quiet list's order: an unanswered question, then heroes, then the longest silence."""
    unanswered = QuietFlag.context["unanswered_question_at"].as_string()
    return (
        unanswered.is_(None),
        QuietFlag.tier != Tier.HERO.value,
        greatest(QuietFlag.silent_days, whole_days_between(now, QuietFlag.last_seen_at)).desc(),
        QuietFlag.member_id,
    )


def _silent_days(silent_days: float, last_seen: datetime, now: datetime) -> float:
    # The flag stored its figures when it opened; silence keeps growing until they return.
    # _strongest_first ranks on the same figure in SQL.
    return max(silent_days, (now - last_seen).days)


def _as_of(context: QuietContext, now: datetime) -> QuietContext:
    return replace(context, silent_days=_silent_days(context.silent_days, context.last_seen, now))
