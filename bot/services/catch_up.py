"""What the platform adapters ask the database while catching up and logging joins."""

from __future__ import annotations

from datetime import datetime, timedelta

from community.events import Platform
from storage.members import joined_near
from storage.spaces import last_activity_at, replied_to_since
from storage.uow import UnitOfWork

# Catch-up starts a little before the last stored event, in case the last batch was partial.
CATCH_UP_OVERLAP = timedelta(minutes=5)


async def catch_up_from(
    uow: UnitOfWork, platform: Platform, space: str, now: datetime, days: float
) -> datetime:
    """Where catch-up of SPACE starts: DAYS back from NOW, or just before its newest event."""
    after = now - timedelta(days=days)
    async with uow.read() as conn:
        last = await last_activity_at(conn, platform, space)
    if last is not None:
        after = max(after, last - CATCH_UP_OVERLAP)
    return after


async def threads_replied_to(
    uow: UnitOfWork, platform: Platform, space: str, prefix: str, since: datetime
) -> set[str]:
    """Threads (their event ids, PREFIX removed) that stored replies answered since SINCE."""
    async with uow.read() as conn:
        return await replied_to_since(conn, platform, space, prefix, since)


async def join_stored_near(
    uow: UnitOfWork,
    platform: Platform,
    space: str,
    member: str,
    when: datetime,
    window: timedelta,
) -> bool:
    """Whether a join of MEMBER is stored within WINDOW either side of WHEN."""
    async with uow.read() as conn:
        return await joined_near(conn, platform, space, member, when, window)
