"""Bulk loading into SQLite: an import's connection, and its deferred ``activities`` indexes.

Keeping the (member_id, occurred_at) index of activities up to date costs an import much of
its database time: every batch holds most members, so it dirties pages all over that index,
and every commit writes them again. Once an import is large next to what is stored, it drops
that index and builds it once at the end, a sort instead of scattered inserts. The other
indexes stay: they grow near their ends, since exports are read in time order (Slack day by
day, Discord channel by channel), and the unique (space_id, event_id) one is what makes
writes idempotent. Dropping them too saves as much while loading as rebuilding them costs
after it, when nothing else can run (measured with bench/import.py).

A crash must not leave the database without its indexes: the dropped indexes' DDL is kept in
``pulse_meta`` in the transaction that drops them, and ``restore_deferred_indexes`` (which every
schema upgrade runs, so the next ``pulse run`` or import) rebuilds what is recorded there.
Meanwhile the database stays correct, only slower to query; a live writer keeps working.

The import's connection also leaves SQLite's foreign key checks off (about a tenth of its
database time): every id the writer puts in a row was looked up or inserted in the same
transaction, under the write lock, or cached from an earlier one, and BatchWriter drops its
cached member ids as soon as anyone opts out (the only way a member row disappears).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.engine import IMMEDIATE
from storage.writer.pg_insert import UNCHECKED_REFERENCES, may_skip_reference_checks

DEFERRED_KEY = "deferred_indexes"
# The indexes an import may defer (see above).
DEFERRABLE = ("ix_activities_member_time",)
# Below this many rows an import keeps the indexes: rebuilding them would cost more.
MIN_DEFERRED_ROWS = 100_000
# Helper threads SQLite may sort with while it rebuilds a deferred index: the other cores.
_SORT_HELPERS = max(1, min(4, (os.cpu_count() or 2) - 1))


@contextlib.asynccontextmanager
async def import_connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection for an import's batches, each of which takes the write lock as it begins.

    On SQLite it has foreign key checks off, back on before it returns to the pool; on
    PostgreSQL each batch checks its references once where the role may (storage.writer.pg_insert).
    """
    async with engine.connect() as conn:
        conn = await conn.execution_options(**{IMMEDIATE: True})
        if conn.dialect.name != "sqlite":
            if await may_skip_reference_checks(conn):
                conn = await conn.execution_options(**{UNCHECKED_REFERENCES: True})
            await conn.rollback()  # the check began a transaction; batches begin their own
            yield conn
            return
        # PRAGMA foreign_keys is ignored inside a transaction: go around SQLAlchemy's autobegin.
        driver = (await conn.get_raw_connection()).driver_connection
        await (await driver.execute("PRAGMA foreign_keys=OFF")).close()
        try:
            yield conn
        finally:
            try:
                await conn.rollback()
                await (await driver.execute("PRAGMA foreign_keys=ON")).close()
            except Exception:
                # Never hand a connection without its checks back to the pool.
                await conn.invalidate()


class IndexDeferral:
    """Decides, batch by batch, when an import into SQLite drops activities' indexes."""

    def __init__(self, threshold: int) -> None:
        self.threshold = threshold
        self.rows = 0
        self.deferred = False

    @classmethod
    async def start(
        cls, conn: AsyncConnection, min_rows: int = MIN_DEFERRED_ROWS
    ) -> IndexDeferral | None:
        """A deferral for an import on CONN, or None where the database is not SQLite.

        The indexes go once the import has brought at least MIN_ROWS events and half as many
        as were stored when it began: then rebuilding (a sort of every row) costs less than
        keeping them (an insert into each index per row, scattered).
        """
        if conn.dialect.name != "sqlite":
            return None
        # The highest row id: the count plus any rows purged since (a cautious estimate), in
        # one lookup where count(*) would read the whole table.
        stored = (await conn.exec_driver_sql("SELECT max(id) FROM activities")).scalar() or 0
        await conn.rollback()  # the read began a transaction; batches begin their own
        return cls(max(stored // 2, min_rows))

    async def before_batch(self, conn: AsyncConnection, events: int) -> None:
        """Count a batch of EVENTS; drop the indexes in its transaction once they should go."""
        self.rows += events
        if self.deferred or self.rows < self.threshold:
            return
        self.deferred = True
        indexes = [
            (name, sql)
            for name, sql in await conn.exec_driver_sql(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                "AND tbl_name = 'activities' ORDER BY name"
            )
            if name in DEFERRABLE
        ]
        recorded = await _recorded(conn)
        names = {name for name, _ in recorded}
        recorded += [[name, sql] for name, sql in indexes if name not in names]
        await conn.exec_driver_sql(
            "INSERT INTO pulse_meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (DEFERRED_KEY, json.dumps(recorded)),
        )
        for name, _ in indexes:
            await conn.exec_driver_sql(f'DROP INDEX "{name}"')

    async def finish(self, conn: AsyncConnection) -> None:
        """Rebuild the indexes if this import dropped them (CONN outside a transaction)."""
        if self.deferred:
            async with conn.begin():
                await restore_deferred_indexes(conn)


# The tables an import fills, whose statistics the planner reads right after it (tier history
# replay, reclassification), before autovacuum's analyze comes round.
_IMPORTED_TABLES = (
    "members",
    "activities",
    "member_daily_rollups",
    "help_edges",
    "member_channel_rollups",
)


async def analyze_after_import(
    conn: AsyncConnection, inserted: int, min_rows: int = MIN_DEFERRED_ROWS
) -> bool:
    """On PostgreSQL, refresh the statistics of what an import of INSERTED >= MIN_ROWS filled.

    CONN is outside a transaction. Returns whether it analyzed.
    """
    if conn.dialect.name != "postgresql" or inserted < min_rows:
        return False
    async with conn.begin():
        await conn.exec_driver_sql(f"ANALYZE {', '.join(_IMPORTED_TABLES)}")
    return True


async def restore_deferred_indexes(conn: AsyncConnection) -> list[str]:
    """Build the indexes an import deferred, on CONN's open transaction; return their names."""
    if conn.dialect.name != "sqlite":
        return []
    has_meta = (
        await conn.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'pulse_meta'"
        )
    ).first()
    if has_meta is None:
        return []
    recorded = await _recorded(conn)
    built = []
    for name, sql in recorded:
        exists = (
            await conn.exec_driver_sql(
                "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?", (name,)
            )
        ).first()
        if exists is None:  # a live process may have restored it already
            # Building an index is one big sort, which SQLite can share with helper threads;
            # at the end of an import the reader's core is free (a third faster on 2 cores).
            await conn.exec_driver_sql(f"PRAGMA threads={_SORT_HELPERS}")
            try:
                await conn.exec_driver_sql(sql)
            finally:
                await conn.exec_driver_sql("PRAGMA threads=0")
            built.append(name)
    if recorded:
        await conn.exec_driver_sql("DELETE FROM pulse_meta WHERE key = ?", (DEFERRED_KEY,))
    return built


async def _recorded(conn: AsyncConnection) -> list[list[str]]:
    value = (
        await conn.exec_driver_sql("SELECT value FROM pulse_meta WHERE key = ?", (DEFERRED_KEY,))
    ).scalar()
    return json.loads(value) if value else []
