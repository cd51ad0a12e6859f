"""The unit of work: how application services open a transaction, and the only way they do.

``read()`` is a snapshot for queries. ``write()`` takes SQLite's write lock when it begins
(``BEGIN IMMEDIATE``), so a service that reads and then writes queues behind the live writer
instead of failing at once when the writer commits in between. ``atomically()`` runs a whole
write again when PostgreSQL rolls it back for a serialization failure or a deadlock, which
only a transaction started afresh can get past. Repositories (the other ``storage`` modules)
take the connection and never commit; the unit of work does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.engine import begin_write
from storage.faults import sqlstate
from storage.locks import Job, exclusive_write
from storage.writer.bulk import import_connection

log = logging.getLogger(__name__)

T = TypeVar("T")

# What services and repositories pass around; named here so callers need not import SQLAlchemy.
Connection = AsyncConnection

# Serialization failure and deadlock: PostgreSQL rolled the transaction back and asks for it
# to be run again from the start.
CONFLICTS = frozenset({"40001", "40P01"})
ATTEMPTS = 4


class UnitOfWork:
    """Opens read and write transactions on one database."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Connection]:
        """A connection for queries; whatever it wrote would be rolled back."""
        async with self.engine.connect() as conn:
            yield conn

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Connection]:
        """A transaction that commits when the block ends well and rolls back when it raises."""
        async with begin_write(self.engine) as conn:
            yield conn

    @asynccontextmanager
    async def exclusive(self, job: Job, space_id: int = 0) -> AsyncIterator[Connection]:
        """A write transaction that also holds JOB's lock for SPACE_ID (storage.locks)."""
        async with exclusive_write(self.engine, job, space_id) as conn:
            yield conn

    @asynccontextmanager
    async def importing(self) -> AsyncIterator[Connection]:
        """One connection for an import's batches, each its own write (storage.writer.bulk)."""
        async with import_connection(self.engine) as conn:
            yield conn

    async def atomically(self, work: Callable[[Connection], Awaitable[T]]) -> T:
        """Run WORK in a write transaction, again from the start on a PostgreSQL conflict."""
        for attempt in range(1, ATTEMPTS + 1):
            try:
                async with self.write() as conn:
                    return await work(conn)
            except Exception as exc:
                if sqlstate(exc) not in CONFLICTS or attempt == ATTEMPTS:
                    raise
                log.info("write conflict (%s), running it again", sqlstate(exc))
                # A short, growing pause lets the transaction that won finish first.
                await asyncio.sleep(0.05 * attempt)
        raise AssertionError("unreachable")  # the loop returns or raises
