"""Members: finding one by id, mention or name; names, staff marks, away, and joins."""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from community.events import ActivityKind, Platform
from community.views import MemberRef
from storage.models import Activity, Member, Space
from storage.spaces import NotFoundError, space_id_for
from storage.writer.statements import NAME_IF_UNNAMED


def member_ref(member) -> MemberRef:
    """A member row (any with id, platform_id, display_name) as a MemberRef."""
    return MemberRef(
        id=member.id,
        platform_id=member.platform_id,
        name=member.display_name or member.platform_id,
    )


def eligible_members(space_id: int):
    """Members that tiers and rankings consider: not staff, not bots."""
    return and_(Member.space_id == space_id, Member.is_staff.is_(False), Member.is_bot.is_(False))


async def find_member(conn: AsyncConnection, space_id: int, query: str):
    """A member row by platform id, mention, or display name (exact, then unique prefix)."""
    if len(query) > MAX_QUERY:
        # No stored name or id is longer (names are clipped to their column), and SQLite
        # refuses LIKE patterns past 50,000 bytes.
        raise NotFoundError(
            f"no member matches a {len(query):,}-character name (names are at most "
            f"{Member.display_name.type.length} characters)"
        )
    cleaned = query.strip().removeprefix("<@").removeprefix("!").rstrip(">").split("|")[0]
    by_id = (
        await conn.execute(
            select(Member).where(Member.space_id == space_id, Member.platform_id == cleaned)
        )
    ).first()
    if by_id:
        return by_id
    lowered = query.strip().lstrip("@").lower()
    # An exact name is one lookup on ix_members_name; only a partial name scans the members.
    exact = (
        await conn.execute(
            select(Member)
            .where(Member.space_id == space_id, func.lower(Member.display_name) == lowered)
            .order_by(Member.id)
            .limit(2)
        )
    ).all()
    if len(exact) == 1:
        return exact[0]
    matches = (
        await conn.execute(
            select(Member)
            .where(Member.space_id == space_id)
            .where(func.lower(Member.display_name).like(f"{_escape_like(lowered)}%", escape="\\"))
            .order_by(Member.id)
            .limit(6)
        )
    ).all()
    exact = [m for m in matches if (m.display_name or "").lower() == lowered]
    if len(exact) == 1:
        return exact[0]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        # DiscordChatExporter names are "name#1234"; imports store them without the "#1234".
        stripped = _DISCRIMINATOR.sub("", query.strip())
        if stripped != query.strip() and stripped.strip():
            return await find_member(conn, space_id, stripped)
        raise NotFoundError(f"no member matches {query!r}")
    names = ", ".join(f"{m.display_name} ({m.platform_id})" for m in matches[:5])
    raise NotFoundError(f"{query!r} matches several members: {names}; use the id")


_DISCRIMINATOR = re.compile(r"#\d{4}$")


# Longer than any name (200) or mention of one ("<@id|name>"): past it nothing can match.
MAX_QUERY = 300


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def name_unnamed_members(conn: AsyncConnection, space_id: int, names: dict[str, str]) -> int:
    """Give SPACE_ID's members stored without a name the one NAMES has for them; how many."""
    unnamed = (
        await conn.execute(
            select(Member.id, Member.platform_id).where(
                Member.space_id == space_id, Member.display_name.is_(None)
            )
        )
    ).all()
    rows = [{"row_id": row_id, "name": names[pid]} for row_id, pid in unnamed if pid in names]
    if rows:
        await conn.execute(NAME_IF_UNNAMED, rows)
    return len(rows)


async def joined_near(
    conn: AsyncConnection,
    platform: Platform,
    platform_id: str,
    member_platform_id: str,
    when: datetime,
    window: timedelta,
) -> bool:
    """Whether a join of the member is stored within WINDOW either side of WHEN."""
    found = (
        await conn.execute(
            select(Activity.id)
            .join(Space, Space.id == Activity.space_id)
            .join(Member, Member.id == Activity.member_id)
            .where(
                Space.platform == platform.value,
                Space.platform_id == platform_id,
                Member.platform_id == member_platform_id,
                Activity.kind == ActivityKind.MEMBER_JOINED.value,
                Activity.occurred_at >= when - window,
                Activity.occurred_at <= when + window,
            )
            .limit(1)
        )
    ).first()
    return found is not None


async def member_row(conn: AsyncConnection, space_id: int, platform_id: str):
    """The member row for a platform id, or NotFoundError saying Pulse has not seen them."""
    row = (
        await conn.execute(
            select(Member).where(Member.space_id == space_id, Member.platform_id == platform_id)
        )
    ).first()
    if row is None:
        raise NotFoundError("Pulse has not seen that member take part yet")
    return row


async def member_name(conn: AsyncConnection, member_id: int) -> str:
    """How a member is shown: their display name, else their platform id."""
    row = (
        await conn.execute(
            select(Member.id, Member.display_name, Member.platform_id).where(Member.id == member_id)
        )
    ).one()
    return member_ref(row).name


async def mark_staff(
    conn: AsyncConnection, platform: Platform, platform_id: str, staff: Collection[str]
) -> set[str]:
    """Set members.is_staff to exactly STAFF in a space; return the staff ids stored so far."""
    space = await space_id_for(conn, platform, platform_id)
    if space is None:
        return set()
    staff = sorted(staff)
    await conn.execute(
        Member.__table__.update()
        .where(Member.space_id == space)
        .values(is_staff=Member.platform_id.in_(staff) if staff else False)
    )
    rows = await conn.execute(
        select(Member.platform_id).where(Member.space_id == space, Member.is_staff)
    )
    return set(rows.scalars())


async def set_away(conn: AsyncConnection, member_id: int, until: datetime) -> None:
    """Pause quiet flags for a member until UNTIL."""
    await conn.execute(update(Member).where(Member.id == member_id).values(away_until=until))
