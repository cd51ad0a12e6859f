"""The database: engines and sessions, and the dialect helpers every writing module uses.

SQLite (WAL) by default, PostgreSQL by URL; ``dialect_insert`` and its kin build one statement
that both backends run (ON CONFLICT, GREATEST and LEAST).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import Integer, case, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

# Execution option asking SQLite to take the write lock when the transaction begins, so two
# writers queue on busy_timeout instead of failing when a read lock cannot be upgraded.
IMMEDIATE = "pulse_begin_immediate"
# How long a SQLite connection waits for another's write lock before failing with "database is
# locked". Writers that see that failure treat the database as unavailable: the live writer
# keeps its batch and retries, so a longer hold (an import's batch, a reclassification) delays
# events but loses none. 30 s outlasts any one transaction Pulse runs on the live path.
SQLITE_BUSY_TIMEOUT_MS = 30_000


def normalize_url(url: str) -> str:
    """Use the async drivers whatever the operator wrote: sqlite:// and postgresql:// both work."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite" and parsed.drivername != "sqlite+aiosqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif backend in ("postgresql", "postgres") and parsed.drivername != "postgresql+asyncpg":
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


# The steps a SQLite writer waits for the write lock in (see _sqlite_begin).
_LOCK_STEP_MS = 250


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # Autocommit at the driver so SQLAlchemy's "begin" hook below owns BEGIN; the driver's own
    # deferred BEGIN would otherwise hide transactions from us.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # The busy wait first: switching a new file to WAL needs a lock that another process
    # opening the same file at the same moment may hold.
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA cache_size=-32768")
    cursor.execute("PRAGMA wal_autocheckpoint=10000")
    cursor.close()


def _sqlite_begin(conn) -> None:
    if not conn.get_execution_options().get(IMMEDIATE, False):
        conn.exec_driver_sql("BEGIN")
        return
    # Wait for the write lock in short busy waits, not one long one: a busy wait runs in the
    # driver's thread where nothing can interrupt it, so a stop (a cancelled task) would wait
    # for it to end. Between steps the cancellation lands.
    step_ms = min(_LOCK_STEP_MS, SQLITE_BUSY_TIMEOUT_MS)
    conn.exec_driver_sql(f"PRAGMA busy_timeout={step_ms}")
    try:
        for step in range(max(1, SQLITE_BUSY_TIMEOUT_MS // step_ms), 0, -1):
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                return
            except OperationalError as exc:
                if step == 1 or "locked" not in str(exc.orig):
                    raise
    finally:
        conn.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """Build the async engine for a database URL, tuned for its backend."""
    url = normalize_url(url)
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        engine = create_async_engine(url, echo=echo)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    return create_async_engine(url, echo=echo, pool_pre_ping=True, pool_size=5, max_overflow=5)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def begin_write(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A transaction that will write: on SQLite it takes the write lock when it begins.

    A deferred SQLite transaction that reads and then writes fails at once (instead of waiting)
    when another connection committed in between; jobs that read before they write use this.
    """
    async with engine.connect() as conn:
        conn = await conn.execution_options(**{IMMEDIATE: True})
        async with conn.begin():
            yield conn


def dialect_insert(conn: AsyncConnection, table):
    """INSERT for the connection's dialect, with ON CONFLICT support on both backends."""
    return insert_for(conn.dialect.name, table)


def insert_for(dialect: str, table):
    """INSERT for the dialect named DIALECT, with ON CONFLICT support on both backends."""
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


def greatest(current, proposed):
    """The greater of two SQL values, on both backends."""
    # LEAST/GREATEST are PostgreSQL-only and SQLite's min/max double as aggregates: use CASE.
    return case((proposed > current, proposed), else_=current)


def least(current, proposed):
    """The lesser of two SQL values, on both backends (see greatest)."""
    return case((proposed < current, proposed), else_=current)


class whole_days_between(FunctionElement):
    """Whole days from EARLIER to LATER, rounded down like Python's ``timedelta.days``."""

    inherit_cache = True
    name = "whole_days_between"
    type = Integer()


@compiles(whole_days_between, "postgresql")
def _days_postgresql(element: whole_days_between, compiler, **kw) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    # EXTRACT of an interval is exact (numeric) from PostgreSQL 14, to the microsecond.
    return f"CAST(floor(extract(epoch FROM ({later} - {earlier})) / 86400) AS INTEGER)"


@compiles(whole_days_between, "sqlite")
def _days_sqlite(element: whole_days_between, compiler, **kw) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    # julianday() is a float of whole milliseconds: round the difference back to whole
    # milliseconds before dividing, so float error can never cost a whole day.
    diff_ms = f"CAST(round((julianday({later}) - julianday({earlier})) * 86400000) AS INTEGER)"
    # SQLite's "/" truncates towards zero; floor is what timedelta.days does below zero.
    return (
        f"(CASE WHEN {diff_ms} >= 0 THEN {diff_ms} / 86400000"
        f" ELSE -((86399999 - {diff_ms}) / 86400000) END)"
    )
