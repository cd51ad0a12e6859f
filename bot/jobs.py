"""Jobs: short functions that open a unit of work and call the community logic."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.settings import Settings
from community.events import day_number
from community.quiet import QuietPolicy, ScanResult
from community.tiers import TierPolicy
from storage.intelligence import ReclassifyResult, last_active_days, reclassify, scan_quiet
from storage.locks import Job, exclusive_write
from storage.models import Space
from storage.queries import purge_activities


def tier_policy(settings: Settings) -> TierPolicy:
    """The tier rules as configured."""
    t = settings.tiers
    return TierPolicy(
        window_days=t.window_days,
        decay_floor=t.decay_floor,
        active_score=t.active_score,
        active_min_weeks=t.active_min_weeks,
        active_min_helped=t.active_min_helped,
        hero_score=t.hero_score,
        hero_min_weeks=t.hero_min_weeks,
        hero_min_helped=t.hero_min_helped,
        demotion_evaluations=t.demotion_evaluations,
        candidate_ratio=t.candidate_ratio,
        weights=t.weights.model_dump(),
    )


def quiet_policy(settings: Settings) -> QuietPolicy:
    """The quiet-member rules as configured."""
    q = settings.quiet
    return QuietPolicy(
        min_days=q.min_days, cadence_multiple=q.cadence_multiple, expiry_days=q.expiry_days
    )


async def space_ids(engine: AsyncEngine) -> list[int]:
    """Every space Pulse knows."""
    async with engine.connect() as conn:
        return list((await conn.execute(select(Space.id).order_by(Space.id))).scalars())


async def reclassify_and_scan(
    engine: AsyncEngine, space_id: int, now: datetime, tiers: TierPolicy, quiet: QuietPolicy
) -> tuple[ReclassifyResult, ScanResult]:
    """The daily job for one space: tiers first, then quiet flags, in one transaction."""
    # The space's tier lock up front (storage.locks): a second run, from another process or
    # command, waits for this one and then finds nothing left to change, so no tier change is
    # stored twice. On SQLite it is the write lock, without which a read-then-write transaction
    # would fail outright if the ingestion writer committed while it ran.
    async with exclusive_write(engine, Job.TIERS, space_id) as conn:
        # Both steps need each member's last active day; reclassifying writes no rollups, so
        # one aggregation serves both within this transaction.
        last_active = await last_active_days(conn, space_id, day_number(now))
        result = await reclassify(conn, space_id, now, tiers, last_active)
        scan = await scan_quiet(conn, space_id, now, tiers, quiet, last_active)
    return result, scan


async def purge_old_activities(engine: AsyncEngine, older_than: datetime) -> int:
    """Delete raw activities older than OLDER_THAN under the purge lock; return how many."""
    async with exclusive_write(engine, Job.PURGE) as conn:
        return await purge_activities(conn, older_than)
