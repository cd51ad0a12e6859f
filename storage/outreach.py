"""The outreach loop in storage: record what staff did about a quiet flag, and who came back.

Each staff action writes one `outreach` row (who, what, when) and moves the flag through the
statuses the quiet scan already understands:

- reached out: the flag is snoozed for the 30-day re-engagement window, so the member leaves
  the quiet list while staff wait for an answer; if they post again the scan closes the flag as
  returned, otherwise they come back on the list when the window ends;
- snooze: the flag is snoozed until a date;
- dismiss: the flag closes and the member stays off the list until they return.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from community.events import ActivityKind
from community.outreach import (
    DEFAULT_SNOOZE_DAYS,
    RE_ENGAGE_WINDOW,
    OutreachAction,
    OutreachError,
    OutreachRecord,
    OutreachStats,
)
from community.quiet import LIVE_STATUSES, FlagStatus
from storage.models import Activity, Outreach, QuietFlag
from storage.quiet import set_flag_status

# What counts as being active again: posting or a logged contribution, as for tiers and quiet.
ENGAGED_KINDS = (
    ActivityKind.MESSAGE.value,
    ActivityKind.REPLY.value,
    ActivityKind.THREAD_STARTED.value,
    ActivityKind.CONTRIBUTION_LOGGED.value,
)
# Re-engagement is looked for this long after a reach-out (the window, and slack for a daily
# job that did not run for a while); older reach-outs are decided and left alone.
_RECHECK = RE_ENGAGE_WINDOW + timedelta(days=60)


async def record_outreach(
    conn: AsyncConnection,
    space_id: int,
    flag_id: int,
    staff_platform_id: str,
    action: OutreachAction,
    now: datetime,
    snooze_until: datetime | None = None,
) -> OutreachRecord:
    """Record ACTION by a staff member on a live quiet flag and update the flag to match."""
    action = OutreachAction(action)
    if not staff_platform_id:
        raise OutreachError("an outreach action needs the staff member who took it")
    flag = (
        await conn.execute(
            select(
                QuietFlag.id, QuietFlag.member_id, QuietFlag.status, QuietFlag.snoozed_until
            ).where(QuietFlag.id == flag_id, QuietFlag.space_id == space_id)
        )
    ).first()
    if flag is None:
        raise OutreachError(f"no quiet flag {flag_id} in this community")
    if FlagStatus(flag.status) not in LIVE_STATUSES:
        raise OutreachError(f"quiet flag {flag_id} is already closed ({flag.status})")
    if flag.status == FlagStatus.SNOOZED.value and flag.snoozed_until and flag.snoozed_until > now:
        # Someone acted on it already (two staff, one button): a second record would count
        # one reach-out twice. Once the snooze runs out the member is back on the list.
        raise OutreachError(
            f"quiet flag {flag_id} was already acted on; it is snoozed until "
            f"{flag.snoozed_until:%Y-%m-%d}"
        )
    if action is OutreachAction.REACHED_OUT:
        await set_flag_status(conn, flag_id, FlagStatus.SNOOZED, now, now + RE_ENGAGE_WINDOW)
    elif action is OutreachAction.SNOOZE:
        until = snooze_until or now + timedelta(days=DEFAULT_SNOOZE_DAYS)
        if until.tzinfo is None or until <= now:
            raise OutreachError("a snooze needs a timezone-aware date in the future")
        await set_flag_status(conn, flag_id, FlagStatus.SNOOZED, now, until)
    else:
        await set_flag_status(conn, flag_id, FlagStatus.DISMISSED, now)
    row_id = (
        await conn.execute(
            insert(Outreach)
            .values(
                space_id=space_id,
                flag_id=flag_id,
                member_id=flag.member_id,
                staff_platform_id=staff_platform_id,
                action=action.value,
                at=now,
            )
            .returning(Outreach.id)
        )
    ).scalar_one()
    return OutreachRecord(
        id=row_id,
        flag_id=flag_id,
        member_id=flag.member_id,
        staff_platform_id=staff_platform_id,
        action=action,
        at=now,
    )


async def reached_out(
    conn: AsyncConnection, space_id: int, flag_id: int, staff_platform_id: str, now: datetime
) -> OutreachRecord:
    """Staff reached out to the quiet member of FLAG_ID."""
    return await record_outreach(
        conn, space_id, flag_id, staff_platform_id, OutreachAction.REACHED_OUT, now
    )


async def snooze(
    conn: AsyncConnection,
    space_id: int,
    flag_id: int,
    staff_platform_id: str,
    now: datetime,
    until: datetime | None = None,
) -> OutreachRecord:
    """Staff put FLAG_ID aside until UNTIL (default: two weeks)."""
    return await record_outreach(
        conn, space_id, flag_id, staff_platform_id, OutreachAction.SNOOZE, now, until
    )


async def dismiss(
    conn: AsyncConnection, space_id: int, flag_id: int, staff_platform_id: str, now: datetime
) -> OutreachRecord:
    """Staff dismissed FLAG_ID: the member stays off the quiet list until they return."""
    return await record_outreach(
        conn, space_id, flag_id, staff_platform_id, OutreachAction.DISMISS, now
    )


async def live_flag_id(conn: AsyncConnection, space_id: int, member_id: int) -> int | None:
    """The open or snoozed quiet flag of a member, for actions that name the member."""
    return (
        await conn.execute(
            select(QuietFlag.id)
            .where(
                QuietFlag.space_id == space_id,
                QuietFlag.member_id == member_id,
                QuietFlag.status.in_([s.value for s in LIVE_STATUSES]),
            )
            .order_by(QuietFlag.opened_at.desc())
            .limit(1)
        )
    ).scalar_one_or_none()


async def mark_re_engaged(conn: AsyncConnection, space_id: int, now: datetime) -> int:
    """Set re_engaged_at on reach-outs whose member was active within 30 days; return how many."""
    pending = (
        await conn.execute(
            select(Outreach.id, Outreach.member_id, Outreach.at).where(
                Outreach.space_id == space_id,
                Outreach.action == OutreachAction.REACHED_OUT.value,
                Outreach.re_engaged_at.is_(None),
                Outreach.at > now - _RECHECK,
                Outreach.at <= now,
            )
        )
    ).all()
    marked = 0
    # Reach-outs are staff actions (dozens, not thousands); each lookup is one indexed range.
    for row in pending:
        first = (
            await conn.execute(
                select(func.min(Activity.occurred_at)).where(
                    Activity.member_id == row.member_id,
                    Activity.kind.in_(ENGAGED_KINDS),
                    Activity.occurred_at > row.at,
                    Activity.occurred_at <= min(row.at + RE_ENGAGE_WINDOW, now),
                )
            )
        ).scalar_one()
        if first is not None:
            await conn.execute(
                update(Outreach).where(Outreach.id == row.id).values(re_engaged_at=first)
            )
            marked += 1
    return marked


async def outreach_stats(
    conn: AsyncConnection, space_id: int, start: datetime, end: datetime, as_of: datetime
) -> OutreachStats:
    """Outreach made between START and END and its outcomes as known at AS_OF."""
    rows = (
        await conn.execute(
            select(Outreach.action, Outreach.at, Outreach.re_engaged_at).where(
                Outreach.space_id == space_id, Outreach.at >= start, Outreach.at < end
            )
        )
    ).all()
    reached = [r for r in rows if r.action == OutreachAction.REACHED_OUT.value]
    back = [r for r in reached if r.re_engaged_at is not None and r.re_engaged_at <= as_of]
    pending = [
        r
        for r in reached
        if (r.re_engaged_at is None or r.re_engaged_at > as_of) and r.at + RE_ENGAGE_WINDOW > as_of
    ]
    return OutreachStats(
        start=start,
        end=end,
        as_of=as_of,
        reached_out=len(reached),
        re_engaged=len(back),
        pending=len(pending),
        snoozed=sum(r.action == OutreachAction.SNOOZE.value for r in rows),
        dismissed=sum(r.action == OutreachAction.DISMISS.value for r in rows),
    )


async def outreach_history(
    conn: AsyncConnection, space_id: int, member_id: int, limit: int = 20
) -> list[OutreachRecord]:
    """What staff did about one member, newest first."""
    rows = await conn.execute(
        select(Outreach)
        .where(Outreach.space_id == space_id, Outreach.member_id == member_id)
        .order_by(Outreach.at.desc(), Outreach.id.desc())
        .limit(limit)
    )
    return [
        OutreachRecord(
            id=r.id,
            flag_id=r.flag_id,
            member_id=r.member_id,
            staff_platform_id=r.staff_platform_id,
            action=OutreachAction(r.action),
            at=r.at,
            re_engaged_at=r.re_engaged_at,
        )
        for r in rows
    ]
