"""The dashboard's sign-in links and sessions, kept as hashes of their tokens, and who is staff."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.models import Member, Space, WebLink, WebSession


@dataclass(frozen=True, slots=True)
class LinkRow:
    """A stored sign-in link: for whom, where, and whether it can still be used."""

    space_id: int
    member_id: int | None
    expires_at: datetime
    used_at: datetime | None


@dataclass(frozen=True, slots=True)
class SessionRow:
    """A live session: whose it is and the community it was opened for."""

    space_id: int
    member_id: int | None
    platform: str | None
    platform_id: str | None
    name: str | None
    expires_at: datetime


async def _add_token(
    conn: AsyncConnection,
    table,
    token_hash: str,
    space_id: int,
    member_id: int | None,
    now: datetime,
    expires_at: datetime,
) -> None:
    """Store a token row (a sign-in link or a session): both hold the same columns."""
    await conn.execute(
        insert(table).values(
            token_hash=token_hash,
            space_id=space_id,
            member_id=member_id,
            created_at=now,
            expires_at=expires_at,
        )
    )


async def add_link(
    conn: AsyncConnection,
    token_hash: str,
    space_id: int,
    member_id: int | None,
    now: datetime,
    expires_at: datetime,
) -> None:
    """Store a new sign-in link."""
    await _add_token(conn, WebLink, token_hash, space_id, member_id, now, expires_at)


async def find_link(conn: AsyncConnection, token_hash: str) -> LinkRow | None:
    """The link with that token hash, or None."""
    row = (
        await conn.execute(
            select(WebLink.space_id, WebLink.member_id, WebLink.expires_at, WebLink.used_at).where(
                WebLink.token_hash == token_hash
            )
        )
    ).first()
    return LinkRow(*row) if row else None


async def use_link(conn: AsyncConnection, token_hash: str, now: datetime) -> LinkRow | None:
    """Mark the link used if it is unused and unexpired; the link, or None when it was not."""
    # One conditional UPDATE: of two requests racing with the same link, one wins.
    done = await conn.execute(
        update(WebLink)
        .where(
            WebLink.token_hash == token_hash, WebLink.used_at.is_(None), WebLink.expires_at > now
        )
        .values(used_at=now)
    )
    if done.rowcount != 1:
        return None
    return await find_link(conn, token_hash)


async def add_session(
    conn: AsyncConnection,
    token_hash: str,
    space_id: int,
    member_id: int | None,
    now: datetime,
    expires_at: datetime,
) -> None:
    """Store a new session."""
    await _add_token(conn, WebSession, token_hash, space_id, member_id, now, expires_at)


async def live_session(conn: AsyncConnection, token_hash: str, now: datetime) -> SessionRow | None:
    """The session with that token hash when it is neither ended nor expired, else None."""
    row = (
        await conn.execute(
            select(
                WebSession.space_id,
                WebSession.member_id,
                Space.platform,
                Member.platform_id,
                Member.display_name,
                WebSession.expires_at,
            )
            .outerjoin(Member, Member.id == WebSession.member_id)
            .outerjoin(Space, Space.id == Member.space_id)
            .where(
                WebSession.token_hash == token_hash,
                WebSession.ended_at.is_(None),
                WebSession.expires_at > now,
            )
        )
    ).first()
    return SessionRow(*row) if row else None


async def end_session(conn: AsyncConnection, token_hash: str, now: datetime) -> bool:
    """End the session; whether a live one was ended."""
    done = await conn.execute(
        update(WebSession)
        .where(WebSession.token_hash == token_hash, WebSession.ended_at.is_(None))
        .values(ended_at=now)
    )
    return done.rowcount == 1


async def staff_spaces(
    conn: AsyncConnection, platform: str | None, platform_id: str | None
) -> list[tuple[int, str, str]]:
    """(id, platform, name) of the spaces where this person is staff now; all for the operator."""
    query = select(Space.id, Space.platform, Space.name, Space.platform_id).order_by(Space.id)
    if platform_id is not None:
        query = query.join(
            Member,
            and_(
                Member.space_id == Space.id,
                Member.platform_id == platform_id,
                Member.is_staff.is_(True),
            ),
        ).where(Space.platform == platform)
    return [(r.id, r.platform, r.name or r.platform_id) for r in await conn.execute(query)]


async def ensure_staff_member(conn: AsyncConnection, space_id: int, platform_id: str) -> int:
    """The member row of a staff member the platform just vouched for, created when missing."""
    row = (
        await conn.execute(
            select(Member.id, Member.is_staff).where(
                Member.space_id == space_id, Member.platform_id == platform_id
            )
        )
    ).first()
    if row is None:
        created = await conn.execute(
            insert(Member)
            .values(space_id=space_id, platform_id=platform_id, is_staff=True, is_bot=False)
            .returning(Member.id)
        )
        return created.scalar_one()
    if not row.is_staff:
        await conn.execute(update(Member).where(Member.id == row.id).values(is_staff=True))
    return row.id
