"""What staff do about members, one implementation for the chat buttons and the dashboard.

Outreach on a quiet flag, hero recognition and logged contributions: each a function that
opens its own unit of work, called by the chat handlers (``bot/commands``) and the dashboard's
forms (``bot/web``) alike, so both record exactly the same rows.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from community.events import ActivityEvent, ActivityKind, Platform
from community.outreach import OutreachAction, OutreachError
from storage.members import member_name, member_ref, member_row
from storage.outreach import record_outreach
from storage.recognition import log_contribution, set_hero
from storage.spaces import space_ref
from storage.uow import UnitOfWork

OUTREACH_CHOICES = {
    "done": OutreachAction.REACHED_OUT,
    "snooze": OutreachAction.SNOOZE,
    "dismiss": OutreachAction.DISMISS,
}


class AlreadyDealtWith(Exception):
    """The quiet flag was closed or acted on meanwhile (another staff member, or they came back)."""


@dataclass(frozen=True, slots=True)
class Done:
    """What an action did: to whom, and whether anything changed."""

    name: str
    changed: bool = True
    action: OutreachAction | None = None


async def outreach_on_flag(
    uow: UnitOfWork, space_id: int, flag_id: int, staff_id: str, choice: str, now: datetime
) -> Done:
    """Record CHOICE (done, snooze, dismiss) on quiet flag FLAG_ID, as a quiet-list button does."""
    async with uow.write() as conn:
        try:
            record = await record_outreach(
                conn, space_id, flag_id, staff_id, OUTREACH_CHOICES[choice], now
            )
        except OutreachError:
            raise AlreadyDealtWith(flag_id) from None
        name = await member_name(conn, record.member_id)
    return Done(name=name, action=record.action)


async def hero_recognition(
    uow: UnitOfWork, space_id: int, member_platform_id: str, confirm: bool, staff_id: str, now
) -> Done:
    """Confirm or remove a member's hero recognition; changed is False when it already was so."""
    async with uow.write() as conn:
        member = await member_row(conn, space_id, member_platform_id)
        changed = await set_hero(conn, space_id, member.id, confirm, staff_id, now)
    return Done(name=member_ref(member).name, changed=changed)


async def contribution(
    uow: UnitOfWork,
    hash_key: bytes,
    space_id: int,
    member_platform_id: str,
    kind: str,
    title: str,
    staff_id: str,
    now: datetime,
) -> Done:
    """Log a talk, post, video or meetup by a member; it counts as their activity."""
    async with uow.write() as conn:
        space = await space_ref(conn, space_id)
        member = await member_row(conn, space_id, member_platform_id)
        event = ActivityEvent(
            platform=Platform(space.platform),
            space_id=space.platform_id,
            event_id=f"contribution:{secrets.token_hex(8)}",
            kind=ActivityKind.CONTRIBUTION_LOGGED,
            member_id=member.platform_id,
            occurred_at=now,
            contribution_kind=kind,
        )
        await log_contribution(conn, hash_key, event, space_id, member.id, title, staff_id)
    return Done(name=member_ref(member).name)
