"""Leases: one process at a time does a job for a space, and a dead process's turn runs out.

A job that talks to a platform for minutes (role reconciliation) cannot hold a database lock
while it does: on SQLite that would stop every writer. Instead it claims a lease row in a short
transaction of its own, committed before any platform call, and gives it back when done. Of two
processes claiming at once, the primary key lets exactly one insert the row (PostgreSQL makes
the second insert wait for the first to commit; SQLite's write lock serializes them); the other
sees a live lease and skips the job. A lease left by a killed process expires at `expires_at`
and the next claim takes it over (the conditional update again lets one claimant win). A holder
working longer than the lease renews it; a renewal that finds the lease taken says so, and the
holder stops. Holders name one run (process and a token), not a process: two runs in one
process exclude each other too.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.engine import dialect_insert
from storage.models import JobLease


class LeaseJob(enum.StrEnum):
    """What a lease guards."""

    ROLES = "roles"


async def claim_lease(
    conn: AsyncConnection,
    job: LeaseJob,
    space_id: int,
    holder: str,
    now: datetime,
    ttl: timedelta,
) -> bool:
    """Take JOB's lease for SPACE_ID until NOW + TTL; False when another holder's is live.

    The caller commits at once, before the work the lease guards.
    """
    values = {"holder": holder[:64], "claimed_at": now, "expires_at": now + ttl}
    inserted = await conn.execute(
        dialect_insert(conn, JobLease)
        .values(job=job.value, space_id=space_id, **values)
        .on_conflict_do_nothing(index_elements=["job", "space_id"])
    )
    if inserted.rowcount:
        return True
    # Expired: its holder died or hung.
    taken = await conn.execute(
        update(JobLease).where(_key(job, space_id), JobLease.expires_at <= now).values(**values)
    )
    return taken.rowcount == 1


async def renew_lease(
    conn: AsyncConnection,
    job: LeaseJob,
    space_id: int,
    holder: str,
    now: datetime,
    ttl: timedelta,
) -> bool:
    """Extend HOLDER's lease to NOW + TTL; False when it is no longer HOLDER's."""
    renewed = await conn.execute(
        update(JobLease)
        .where(_key(job, space_id), JobLease.holder == holder[:64])
        .values(expires_at=now + ttl)
    )
    return renewed.rowcount == 1


async def release_lease(conn: AsyncConnection, job: LeaseJob, space_id: int, holder: str) -> None:
    """Give HOLDER's lease back, so the next claim need not wait for it to expire."""
    await conn.execute(delete(JobLease).where(_key(job, space_id), JobLease.holder == holder[:64]))


def _key(job: LeaseJob, space_id: int):
    return and_(JobLease.job == job.value, JobLease.space_id == space_id)
