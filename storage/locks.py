"""Locks that let two processes run the same writing job without doing its work twice.

On PostgreSQL a job's transaction takes a transaction-level advisory lock keyed by the job and
the space, so a second run of the same job waits for the first to commit and then, reading what
it committed, finds nothing left to change. On SQLite the transaction is begun with
``begin_write`` (BEGIN IMMEDIATE): the database's single write lock serializes every writer, and
a second run waits on ``busy_timeout`` the same way.

The scheduler's jobs, the `pulse` commands and the import all take these locks, so it does not
matter which of them starts a job: the daily claim in ``storage.runs`` decides whether the
scheduled run happens at all, these locks keep any two runs from overlapping.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.engine import IMMEDIATE, begin_write


class Job(enum.IntEnum):
    """What a lock guards; the first half of a PostgreSQL advisory lock key."""

    # Arbitrary, but fixed: other software sharing the database may use small numbers.
    MIGRATION = 0x50_0001
    TIERS = 0x50_0002
    PURGE = 0x50_0003


async def hold(conn: AsyncConnection, job: Job, space_id: int = 0) -> None:
    """Hold JOB's lock for SPACE_ID until CONN's transaction ends (waiting for it if taken)."""
    if conn.dialect.name == "postgresql":
        await conn.execute(
            text("SELECT pg_advisory_xact_lock(:job, :space)"),
            {"job": int(job), "space": space_id},
        )
        return
    if not conn.sync_connection.get_execution_options().get(IMMEDIATE, False):
        # A deferred SQLite transaction holds no write lock until it writes: nothing is guarded.
        raise RuntimeError("on SQLite, hold() needs a transaction begun with begin_write()")


@asynccontextmanager
async def exclusive_write(
    engine: AsyncEngine, job: Job, space_id: int = 0
) -> AsyncIterator[AsyncConnection]:
    """A write transaction holding JOB's lock for SPACE_ID from its start to its commit."""
    async with begin_write(engine) as conn:
        await hold(conn, job, space_id)
        yield conn
