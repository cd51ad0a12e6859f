"""Claims on scheduled runs: the database decides which process does a run, exactly once.

A run is one row of `digest_runs`, unique per (space, audience, period key). Claiming inserts it
with `ON CONFLICT DO NOTHING` in its own committed transaction before any work happens, so
of two processes racing on one PostgreSQL (or one SQLite file) exactly one gets the row; the
other sees nothing inserted and moves on. A claim is never released: a run that failed, or
whose process died mid-post, is not tried again, because posting twice is worse than once late.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.engine import dialect_insert
from storage.models import DigestRun


class RunStatus(enum.StrEnum):
    """Where a claimed run ended up."""

    CLAIMED = "claimed"  # taken; the work is under way (or its process died doing it)
    POSTED = "posted"  # a digest went out
    DONE = "done"  # a non-posting job (the daily reclassification) finished
    SKIPPED = "skipped"  # nowhere to post it (no channel configured for the audience)
    MISSED = "missed"  # Pulse was down past the grace period: deliberately not posted late
    FAILED = "failed"  # the work raised; detail says why


@dataclass(frozen=True, slots=True)
class RunRecord:
    """A run row as read back."""

    id: int
    space_id: int
    audience: str
    week_start: int
    status: RunStatus
    claimed_at: datetime
    posted_at: datetime | None
    claimed_by: str | None
    due_at: datetime | None
    detail: str | None


async def claim_run(
    conn: AsyncConnection,
    space_id: int,
    audience: str,
    key: int,
    now: datetime,
    due_at: datetime,
    claimed_by: str,
    status: RunStatus = RunStatus.CLAIMED,
) -> int | None:
    """Insert the run row; its id, or None when another process has it.

    The caller commits at once, in a write transaction of its own, before any work happens.
    """
    return (
        await conn.execute(
            dialect_insert(conn, DigestRun)
            .values(
                space_id=space_id,
                audience=audience,
                week_start=key,
                status=status.value,
                claimed_at=now,
                claimed_by=claimed_by[:64],
                due_at=due_at,
                posted_at=now if status is not RunStatus.CLAIMED else None,
            )
            .on_conflict_do_nothing(index_elements=["space_id", "audience", "week_start"])
            .returning(DigestRun.id)
        )
    ).scalar_one_or_none()


async def finish_run(
    conn: AsyncConnection,
    run_id: int,
    status: RunStatus,
    now: datetime,
    detail: str | None = None,
) -> None:
    """Record how a claimed run ended."""
    await conn.execute(
        update(DigestRun)
        .where(DigestRun.id == run_id)
        .values(status=status.value, posted_at=now, detail=(detail or None) and detail[:2000])
    )


async def runs_for(engine: AsyncEngine, space_id: int | None = None) -> list[RunRecord]:
    """Run rows, oldest first (for status output and tests)."""
    query = select(DigestRun).order_by(DigestRun.week_start, DigestRun.audience, DigestRun.id)
    if space_id is not None:
        query = query.where(DigestRun.space_id == space_id)
    async with engine.connect() as conn:
        rows = await conn.execute(query)
        return [
            RunRecord(
                id=r.id,
                space_id=r.space_id,
                audience=r.audience,
                week_start=r.week_start,
                status=RunStatus(r.status),
                claimed_at=r.claimed_at,
                posted_at=r.posted_at,
                claimed_by=r.claimed_by,
                due_at=r.due_at,
                detail=r.detail,
            )
            for r in rows
        ]
