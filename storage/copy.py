"""Copying a whole Pulse database into an empty one (`pulse db copy`), such as SQLite to PostgreSQL.

Every table of the schema is copied in foreign-key order, in batches, inside one transaction on
the target: a copy that fails half-way leaves the target as empty as it found it, so it can
simply be run again. The source is only read, in one read transaction, so what is copied is one
consistent moment of it. On PostgreSQL the rows go in by COPY (asyncpg's binary protocol),
several times faster than INSERT, into tables stripped of their indexes and constraints, which
are put back once the rows are in (in the same transaction): one sort per index and one join
per foreign key, where keeping them would cost an index insertion and a lookup per row, for
each index and foreign key (at 20 million activities, hours instead of minutes). Afterwards
each id sequence is moved past the copied ids, so the next row Pulse inserts does not collide
with one it copied, and the tables are ANALYZEd, since the planner has no statistics for rows
that arrived in bulk.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Table, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.models import Base
from storage.pg_bulk import copy_rows, record_converter
from storage.writer.bulk import DEFERRED_KEY

BATCH_ROWS = 10_000
# Called with (table, rows copied so far, rows in the source table).
Progress = Callable[[str, int, int], None]


class CopyError(Exception):
    """The copy cannot start or did not verify; the message says why and what to do."""


@dataclass
class CopyReport:
    """Rows copied per table, in the order they were copied."""

    rows: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Rows copied in all."""
        return sum(self.rows.values())


def tables() -> list[Table]:
    """The schema's tables, every table after the tables its foreign keys point at."""
    return list(Base.metadata.sorted_tables)


async def table_counts(conn: AsyncConnection) -> dict[str, int]:
    """Rows in each of the schema's tables on CONN."""
    counts = {}
    for table in tables():
        counts[table.name] = (await conn.execute(select(func.count()).select_from(table))).scalar()
    return counts


def _skipped(table: Table):
    """A condition leaving out rows that describe the source's own files, or None."""
    if table.name == "pulse_meta":
        # Indexes an interrupted SQLite import deferred: the target has all its indexes.
        return table.c.key != DEFERRED_KEY
    return None


async def copy_database(
    source: AsyncEngine,
    target: AsyncEngine,
    progress: Progress | None = None,
    batch_rows: int = BATCH_ROWS,
) -> CopyReport:
    """Copy every row of SOURCE into TARGET, whose schema must be at head and hold no rows."""
    try:
        report = await _copy(source, target, progress, batch_rows)
    except DBAPIError as exc:
        # What the target refused (a value, a constraint): one line, and nothing was kept.
        reason = _first_line(exc.orig or exc)
        raise CopyError(f"the copy failed and the target was left empty: {reason}") from exc
    if target.dialect.name == "postgresql":
        async with target.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.exec_driver_sql("ANALYZE")
    return report


def _first_line(exc: BaseException) -> str:
    """The first line of what EXC says, or its type's name when it says nothing."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


async def _copy(
    source: AsyncEngine, target: AsyncEngine, progress: Progress | None, batch_rows: int
) -> CopyReport:
    """The copy itself, in one transaction on the target."""
    report = CopyReport()
    async with source.connect() as src, target.connect() as dst:
        await src.begin()  # one snapshot of the source for the whole copy
        async with dst.begin():
            held = {name: n for name, n in (await table_counts(dst)).items() if n}
            if held:
                named = ", ".join(f"{name} ({n:,} rows)" for name, n in held.items())
                raise CopyError(
                    f"the target database already holds data ({named}): "
                    "copy into a new, empty database"
                )
            postgres = dst.dialect.name == "postgresql"
            restore = await _strip_postgres_tables(dst) if postgres else []
            for table in tables():
                where = _skipped(table)
                counted = select(func.count()).select_from(table)
                expected = (
                    await src.execute(counted if where is None else counted.where(where))
                ).scalar()
                report.rows[table.name] = await _copy_table(
                    src, dst, table, where, expected, progress, batch_rows
                )
            for statement in restore:
                await dst.exec_driver_sql(statement)
            await _verify(dst, report)
            if postgres:
                await _reset_sequences(dst)
        await src.rollback()
    return report


async def _copy_table(
    src: AsyncConnection,
    dst: AsyncConnection,
    table: Table,
    where,
    expected: int,
    progress: Progress | None,
    batch_rows: int,
) -> int:
    """Copy one table's rows in primary-key order; return how many were copied."""
    query = select(table).order_by(*table.primary_key.columns)
    if where is not None:
        query = query.where(where)
    copied = 0
    if progress:
        progress(table.name, 0, expected)
    write = _copier(dst, table)
    result = await src.stream(query.execution_options(yield_per=batch_rows))
    async for batch in result.partitions(batch_rows):
        await write(batch)
        copied += len(batch)
        if progress:
            progress(table.name, copied, expected)
    return copied


def _copier(dst: AsyncConnection, table: Table):
    """A coroutine function writing a batch of source rows into TABLE on DST."""
    names = [column.name for column in table.columns]
    if dst.dialect.name != "postgresql":
        statement = table.insert()

        async def insert(rows) -> None:
            await dst.execute(statement, [dict(zip(names, row, strict=True)) for row in rows])

        return insert

    convert = record_converter(dst, table, names)

    async def copy(rows) -> None:
        records = [convert(row) for row in rows]
        try:
            await copy_rows(dst, table.name, names, records)
        except Exception as exc:  # asyncpg's own errors: SQLAlchemy does not wrap this call
            raise CopyError(
                f"the copy failed and the target was left empty: {table.name}: {_first_line(exc)}"
            ) from exc

    return copy


# Constraints a bulk load drops and puts back (primary key, unique, foreign key), and the
# indexes that back no constraint; limited to the schema's tables (not alembic_version).
_CONSTRAINTS = """
SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid), c.contype::text
FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
WHERE t.relnamespace = current_schema()::regnamespace AND t.relname = ANY($1)
    AND c.contype IN ('p', 'u', 'f')
ORDER BY c.contype = 'f' DESC, t.relname, c.conname
"""
_INDEXES = """
SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
WHERE t.relnamespace = current_schema()::regnamespace AND t.relname = ANY($1)
    AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
ORDER BY t.relname, 1
"""
# Sorting for an index build: more memory than the server's default, for this transaction.
_BUILD_MEMORY = "SET LOCAL maintenance_work_mem = '512MB'"


async def _strip_postgres_tables(dst: AsyncConnection) -> list[str]:
    """Drop the schema's constraints and indexes on DST; return the DDL that puts them back.

    Foreign keys go first and come back last, since they lean on the keys they reference.
    """
    names = [table.name for table in tables()]
    driver = (await dst.get_raw_connection()).driver_connection
    constraints = await driver.fetch(_CONSTRAINTS, names)
    indexes = await driver.fetch(_INDEXES, names)
    restore = [_BUILD_MEMORY]
    for table, name, definition, kind in constraints:
        await dst.exec_driver_sql(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        if kind != "f":
            restore.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    for name, definition in indexes:
        await dst.exec_driver_sql(f"DROP INDEX {name}")
        restore.append(definition)
    restore += [
        f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'
        for table, name, definition, kind in constraints
        if kind == "f"
    ]
    return restore


async def _verify(dst: AsyncConnection, report: CopyReport) -> None:
    """Raise CopyError unless every table on DST holds exactly the rows copied into it."""
    counts = await table_counts(dst)
    wrong = [
        f"{name} has {counts[name]:,} rows, {copied:,} were copied"
        for name, copied in report.rows.items()
        if counts[name] != copied
    ]
    if wrong:
        raise CopyError("the copy did not verify, nothing was kept: " + "; ".join(wrong))


async def _reset_sequences(dst: AsyncConnection) -> None:
    """Move each PostgreSQL id sequence past the highest id copied into its table."""
    for table in tables():
        for column in table.primary_key.columns:
            if column.autoincrement is not True and not (
                column.autoincrement == "auto" and len(table.primary_key.columns) == 1
            ):
                continue
            sequence = (
                await dst.execute(
                    text("SELECT pg_get_serial_sequence(:table, :column)"),
                    {"table": table.name, "column": column.name},
                )
            ).scalar()
            if sequence is None:
                continue
            # Names from the schema's own metadata, never from input.
            statement = (
                f'SELECT setval(:sequence, coalesce(max("{column.name}"), 1),'  # noqa: S608
                f' max("{column.name}") IS NOT NULL) FROM "{table.name}"'
            )
            await dst.execute(text(statement), {"sequence": sequence})
