"""Copying a whole Pulse database into an empty one (`pulse db copy`), such as SQLite to PostgreSQL.

Every table of the schema is copied in foreign-key order, in batches, inside one transaction on
the target: a copy that fails half-way leaves the target as empty as it found it, so it can
simply be run again. The source is only read, in one read transaction, so what is copied is one
consistent moment of it. On PostgreSQL the rows go in by COPY (asyncpg's binary protocol),
several times faster than INSERT; afterwards each id sequence is moved past the copied ids, so
the next row Pulse inserts does not collide with one it copied, and the tables are ANALYZEd,
since the planner has no statistics for rows that arrived in bulk.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Table, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.models import Base
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
            for table in tables():
                where = _skipped(table)
                counted = select(func.count()).select_from(table)
                expected = (
                    await src.execute(counted if where is None else counted.where(where))
                ).scalar()
                report.rows[table.name] = await _copy_table(
                    src, dst, table, where, expected, progress, batch_rows
                )
            await _verify(dst, report)
            if dst.dialect.name == "postgresql":
                await _reset_sequences(dst)
        await src.rollback()
    if target.dialect.name == "postgresql":
        async with target.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.exec_driver_sql("ANALYZE")
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

    dialect = dst.dialect
    # What SQLAlchemy would do to each value on its way to asyncpg (UTC times, JSON text).
    processors = [
        column.type.dialect_impl(dialect).bind_processor(dialect) for column in table.columns
    ]
    converting = [(i, p) for i, p in enumerate(processors) if p is not None]

    async def copy(rows) -> None:
        records = []
        for row in rows:
            values = list(row)
            for i, process in converting:
                values[i] = process(values[i])
            records.append(values)
        # The driver's COPY runs on the connection's open transaction (begun by an earlier
        # statement through SQLAlchemy), so it commits or rolls back with the rest.
        driver = (await dst.get_raw_connection()).driver_connection
        await driver.copy_records_to_table(table.name, records=records, columns=names)

    return copy


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
