"""Signing in to the dashboard: single-use links, sessions, and who may see which community.

Tokens are random (``secrets``) and only their SHA-256 is stored, so the database never holds
a working link or session. Every request asks ``viewer`` afresh, which reads the staff marks
again: a member taken off the staff role loses the dashboard at their next click.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from community.events import Platform
from storage import web
from storage.spaces import NotFoundError, space_id_for
from storage.uow import UnitOfWork

LINK_MINUTES = 10
OPERATOR = "operator"  # who the operator's actions are recorded as


class LinkState(enum.StrEnum):
    """What a sign-in link can be."""

    VALID = "valid"
    USED = "used"
    EXPIRED = "expired"
    UNKNOWN = "unknown"


class LinkRefused(Exception):
    """A link that cannot sign anyone in; STATE says why."""

    def __init__(self, state: LinkState) -> None:
        super().__init__(state.value)
        self.state = state


def new_token() -> str:
    """A fresh random token: 256 bits in hex, which no chat markup escapes or breaks."""
    return secrets.token_hex(32)


def token_hash(token: str) -> str:
    """What is stored for TOKEN."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class CommunityChoice:
    """A community the viewer may open."""

    id: int
    platform: str
    name: str


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is signed in, and the communities they are staff of right now."""

    member_id: int | None
    platform_id: str | None
    name: str
    home: int
    communities: tuple[CommunityChoice, ...]

    @property
    def staff_id(self) -> str:
        """Who the viewer's actions are recorded as (their platform id, or 'operator')."""
        return self.platform_id or OPERATOR

    def may_see(self, space_id: int) -> bool:
        """Whether the viewer is staff of SPACE_ID now."""
        return any(c.id == space_id for c in self.communities)


async def link_for_staff(
    uow: UnitOfWork,
    platform: Platform,
    space_platform_id: str,
    user_platform_id: str,
    now: datetime,
    minutes: int = LINK_MINUTES,
) -> str:
    """A sign-in link token for a staff member the platform vouched for, in their community."""
    async with uow.write() as conn:
        space = await space_id_for(conn, platform, space_platform_id)
        if space is None:
            raise NotFoundError("Pulse has not logged anything here yet; give it a little while.")
        member = await web.ensure_staff_member(conn, space, user_platform_id)
        token = new_token()
        expires = now + timedelta(minutes=minutes)
        await web.add_link(conn, token_hash(token), space, member, now, expires)
    return token


async def link_for_operator(uow: UnitOfWork, space_id: int, now: datetime, minutes: int) -> str:
    """A sign-in link token for the operator, opening community SPACE_ID."""
    token = new_token()
    async with uow.write() as conn:
        await web.add_link(
            conn, token_hash(token), space_id, None, now, now + timedelta(minutes=minutes)
        )
    return token


async def link_state(uow: UnitOfWork, token: str, now: datetime) -> LinkState:
    """Whether TOKEN can still sign in, without using it."""
    async with uow.read() as conn:
        link = await web.find_link(conn, token_hash(token))
    if link is None:
        return LinkState.UNKNOWN
    if link.used_at is not None:
        return LinkState.USED
    if link.expires_at <= now:
        return LinkState.EXPIRED
    return LinkState.VALID


async def sign_in(uow: UnitOfWork, token: str, now: datetime, hours: int) -> tuple[str, int]:
    """Use link TOKEN once and open a session: its token and the community it opens."""
    session = new_token()
    async with uow.write() as conn:
        link = await web.use_link(conn, token_hash(token), now)
        if link is not None:
            await web.add_session(
                conn,
                token_hash(session),
                link.space_id,
                link.member_id,
                now,
                now + timedelta(hours=hours),
            )
    if link is None:
        state = await link_state(uow, token, now)
        raise LinkRefused(LinkState.USED if state is LinkState.VALID else state)
    return session, link.space_id


async def viewer(uow: UnitOfWork, session: str, now: datetime) -> Viewer | None:
    """Who holds live session SESSION, or None: no such session, ended, expired, or not staff."""
    async with uow.read() as conn:
        row = await web.live_session(conn, token_hash(session), now)
        if row is None:
            return None
        spaces = await web.staff_spaces(conn, row.platform, row.platform_id)
    if not spaces:
        return None
    communities = tuple(CommunityChoice(*s) for s in spaces)
    home = row.space_id if any(c.id == row.space_id for c in communities) else communities[0].id
    return Viewer(
        member_id=row.member_id,
        platform_id=row.platform_id,
        name=row.name or row.platform_id or "Operator",
        home=home,
        communities=communities,
    )


async def sign_out(uow: UnitOfWork, session: str, now: datetime) -> bool:
    """End session SESSION server-side; whether it was live."""
    async with uow.write() as conn:
        return await web.end_session(conn, token_hash(session), now)
