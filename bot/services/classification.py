"""The daily job's work: tiers, then quiet flags, per space; and the retention purge."""

from __future__ import annotations

from datetime import datetime

from community.quiet import QuietPolicy, ScanResult
from community.tiers import TierPolicy
from storage.locks import Job
from storage.privacy import purge_activities
from storage.quiet import scan_quiet
from storage.reclassify import ReclassifyResult, reclassify
from storage.spaces import list_spaces
from storage.uow import UnitOfWork


async def space_ids(uow: UnitOfWork) -> list[int]:
    """Every space Pulse knows."""
    async with uow.read() as conn:
        return [space[0] for space in await list_spaces(conn)]


async def reclassify_and_scan(
    uow: UnitOfWork, space_id: int, now: datetime, tiers: TierPolicy, quiet: QuietPolicy
) -> tuple[ReclassifyResult, ScanResult]:
    """The daily job for one space: tiers first, then quiet flags, in one transaction."""
    # The space's tier lock up front (storage.locks): a second run, from another process or
    # command, waits for this one and then finds nothing left to change, so no tier change is
    # stored twice. On SQLite it is the write lock, without which a read-then-write transaction
    # would fail outright if the ingestion writer committed while it ran.
    async with uow.exclusive(Job.TIERS, space_id) as conn:
        result = await reclassify(conn, space_id, now, tiers)
        scan = await scan_quiet(conn, space_id, now, tiers, quiet)
    return result, scan


async def purge_old_activities(uow: UnitOfWork, older_than: datetime) -> int:
    """Delete raw activities older than OLDER_THAN under the purge lock; return how many."""
    async with uow.exclusive(Job.PURGE) as conn:
        return await purge_activities(conn, older_than)
