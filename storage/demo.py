"""The demo community's rows beyond its events: staff, time away, contributions, heroes.

The storage side of ``community/demo.py``, which generates the community.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.engine import dialect_insert
from storage.models import Contribution, Member, Meta, RecognizedHero, Space

DEMO_MARK = "demo_database"


async def is_demo(conn: AsyncConnection) -> bool:
    """Whether the database on CONN was written by `pulse demo`."""
    value = (await conn.execute(select(Meta.value).where(Meta.key == DEMO_MARK))).scalar()
    return value == "1"


async def mark_demo(conn: AsyncConnection) -> None:
    """Record that this database is a demo, so a later demo may replace it."""
    await conn.execute(dialect_insert(conn, Meta).values(key=DEMO_MARK, value="1"))


async def add_demo_details(
    conn: AsyncConnection,
    space_platform_id: str,
    staff: Sequence[str],
    away_until: Mapping[str, datetime],
    contributions: Iterable[tuple[str, str, str, datetime]],
    heroes: Iterable[str],
    heroes_since: datetime,
) -> int:
    """Store the demo's staff, time away, contributions and heroes; return the space's id."""
    space_id = (
        await conn.execute(select(Space.id).where(Space.platform_id == space_platform_id))
    ).scalar_one()
    ids = dict(
        (
            await conn.execute(
                select(Member.platform_id, Member.id).where(Member.space_id == space_id)
            )
        ).all()
    )
    await conn.execute(
        update(Member).where(Member.id.in_([ids[m] for m in staff])).values(is_staff=True)
    )
    for member, until in away_until.items():
        await conn.execute(update(Member).where(Member.id == ids[member]).values(away_until=until))
    contribution_rows = [
        {"space_id": space_id, "member_id": ids[m], "kind": kind, "title": title,
         "logged_by": staff[0], "occurred_at": when}
        for m, kind, title, when in contributions
    ]  # fmt: skip
    if contribution_rows:
        await conn.execute(Contribution.__table__.insert(), contribution_rows)
    hero_rows = [
        {"member_id": ids[m], "space_id": space_id, "confirmed_by": staff[0],
         "confirmed_at": heroes_since}
        for m in heroes
    ]  # fmt: skip
    if hero_rows:
        await conn.execute(RecognizedHero.__table__.insert(), hero_rows)
    return space_id
