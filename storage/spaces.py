"""Spaces (a Discord guild, a Slack workspace): finding them, naming them, where catch-up starts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from community.digest import SpaceRef
from community.events import ActivityKind, Platform
from storage.models import Activity, Space


class NotFoundError(LookupError):
    """A space or member that the question names does not exist; the message says so."""


async def list_spaces(conn: AsyncConnection) -> list[tuple[int, str, str, str | None]]:
    """All spaces: (id, platform, platform id, name)."""
    rows = await conn.execute(
        select(Space.id, Space.platform, Space.platform_id, Space.name).order_by(Space.id)
    )
    return [tuple(row) for row in rows]


async def space_ref(conn: AsyncConnection, space_id: int) -> SpaceRef:
    """The space row SPACE_ID as a SpaceRef."""
    row = (
        await conn.execute(
            select(Space.id, Space.platform, Space.platform_id, Space.name).where(
                Space.id == space_id
            )
        )
    ).one()
    return SpaceRef(id=row.id, platform=row.platform, platform_id=row.platform_id, name=row.name)


async def resolve_space(conn: AsyncConnection, hint: str | None) -> int:
    """The space a question is about: the only one, or the one HINT names (id or name)."""
    spaces = await list_spaces(conn)
    if not spaces:
        raise NotFoundError("the database holds no community yet (try `pulse demo`)")
    if hint is None:
        if len(spaces) == 1:
            return spaces[0][0]
        names = ", ".join(f"{p}:{pid} ({n or 'unnamed'})" for _, p, pid, n in spaces)
        raise NotFoundError(f"several communities are stored; choose one with --space: {names}")
    for row_id, platform, platform_id, name in spaces:
        if hint in (platform_id, f"{platform}:{platform_id}", name, str(row_id)):
            return row_id
    raise NotFoundError(f"no community matches {hint!r}")


async def last_activity_at(
    conn: AsyncConnection, platform: Platform, platform_id: str
) -> datetime | None:
    """When the newest stored activity of a space happened (where catch-up starts)."""
    return (
        await conn.execute(
            select(func.max(Activity.occurred_at))
            .join(Space, Space.id == Activity.space_id)
            .where(Space.platform == platform.value, Space.platform_id == platform_id)
        )
    ).scalar_one_or_none()


async def space_id_for(conn: AsyncConnection, platform: Platform, platform_id: str) -> int | None:
    """The row id of a Discord guild or Slack workspace, or None before anything was logged."""
    return (
        await conn.execute(
            select(Space.id).where(
                Space.platform == platform.value, Space.platform_id == platform_id
            )
        )
    ).scalar_one_or_none()


async def space_name(conn: AsyncConnection, space_id: int) -> str:
    """The space's name, or its platform id."""
    row = (
        await conn.execute(select(Space.name, Space.platform_id).where(Space.id == space_id))
    ).one()
    return row.name or row.platform_id


async def replied_to_since(
    conn: AsyncConnection, platform: Platform, platform_id: str, prefix: str, since: datetime
) -> set[str]:
    """Event ids, starting with PREFIX and without it, that stored replies since SINCE answer."""
    rows = await conn.execute(
        select(Activity.parent_event_id)
        .join(Space, Space.id == Activity.space_id)
        .where(
            Space.platform == platform.value,
            Space.platform_id == platform_id,
            Activity.kind == ActivityKind.REPLY.value,
            Activity.occurred_at >= since,
            Activity.parent_event_id.startswith(prefix),
        )
        .distinct()
    )
    return {parent[len(prefix) :] for (parent,) in rows if parent}
