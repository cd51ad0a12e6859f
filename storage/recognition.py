"""Recognition staff give: logged contributions and confirmed heroes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from community.events import ActivityEvent
from storage.engine import dialect_insert
from storage.models import Contribution, RecognizedHero
from storage.spaces import NotFoundError
from storage.writer.batch import BatchWriter


async def recognized_at(conn: AsyncConnection, space_id: int, moment: datetime) -> set[int]:
    """The members staff had confirmed as heroes, and not removed, at MOMENT."""
    rows = await conn.execute(
        select(RecognizedHero.member_id).where(
            RecognizedHero.space_id == space_id,
            RecognizedHero.confirmed_at <= moment,
            or_(RecognizedHero.removed_at.is_(None), RecognizedHero.removed_at > moment),
        )
    )
    return set(rows.scalars())


async def is_recognized_hero(conn: AsyncConnection, member_id: int) -> bool:
    """Whether staff recognize the member as a hero now (not since removed)."""
    count = (
        await conn.execute(
            select(func.count()).where(
                RecognizedHero.member_id == member_id, RecognizedHero.removed_at.is_(None)
            )
        )
    ).scalar_one()
    return bool(count)


async def log_contribution(
    conn: AsyncConnection,
    hash_key: bytes,
    event: ActivityEvent,
    space_id: int,
    member_id: int,
    title: str,
    logged_by: str,
) -> int:
    """Record a contribution and count it as activity, in the caller's transaction.

    SPACE_ID and MEMBER_ID are the rows the caller already looked up for EVENT.
    """
    result = await BatchWriter(hash_key).write(conn, [event])
    if not result.inserted:
        raise NotFoundError("that contribution was not recorded (is the member opted out?)")
    return (
        await conn.execute(
            dialect_insert(conn, Contribution)
            .values(
                space_id=space_id,
                member_id=member_id,
                kind=event.contribution_kind or "other",
                title=title,
                logged_by=logged_by,
                occurred_at=event.occurred_at,
            )
            .returning(Contribution.id)
        )
    ).scalar_one()


async def set_hero(
    conn: AsyncConnection, space_id: int, member_id: int, confirmed: bool, staff: str, now
) -> bool:
    """Confirm or remove a hero recognition; False when nothing changed."""
    current = (
        await conn.execute(
            select(RecognizedHero.removed_at).where(RecognizedHero.member_id == member_id)
        )
    ).first()
    active = current is not None and current.removed_at is None
    if confirmed == active:
        return False
    if confirmed:
        stmt = dialect_insert(conn, RecognizedHero).values(
            member_id=member_id, space_id=space_id, confirmed_by=staff, confirmed_at=now
        )
        await conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["member_id"],
                set_={"confirmed_by": staff, "confirmed_at": now, "removed_at": None},
            )
        )
    else:
        await conn.execute(
            update(RecognizedHero)
            .where(RecognizedHero.member_id == member_id)
            .values(removed_at=now)
        )
    return True
