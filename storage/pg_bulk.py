"""Bulk writes on PostgreSQL by COPY: many rows in one round trip instead of VALUES lists.

A multi-row INSERT sends every value as a bind parameter that the server parses and plans
statement by statement (SQLAlchemy pages an executemany into statements of 1,000 rows); COPY
streams the rows in asyncpg's binary format and the server appends them. Upserts go through a
temporary table: COPY into it, then one INSERT ... SELECT ... ON CONFLICT DO UPDATE, in key
order so two writers lock rows in the same order.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncConnection


def record_converter(conn: AsyncConnection, table: Table, names: Sequence[str]):
    """A function turning a row of Python values (in NAMES order) into what COPY takes.

    It does what SQLAlchemy does on the way to asyncpg: UTC datetimes, JSON as text.
    """
    dialect = conn.dialect
    processors = [
        table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names
    ]
    converting = [(i, p) for i, p in enumerate(processors) if p is not None]
    if not converting:
        return tuple

    def convert(row) -> list:
        values = list(row)
        for i, process in converting:
            values[i] = process(values[i])
        return values

    return convert


async def copy_rows(
    conn: AsyncConnection, table: str, names: Sequence[str], records: Sequence[Sequence]
) -> None:
    """COPY RECORDS (already converted) into TABLE's columns NAMES, on CONN's transaction.

    CONN must have begun its transaction with a statement sent through SQLAlchemy: the
    driver's COPY then runs inside it.
    """
    driver = (await conn.get_raw_connection()).driver_connection
    await driver.copy_records_to_table(table, records=records, columns=list(names))


async def upsert_rows(
    conn: AsyncConnection, table: Table, rows: Sequence[dict], key: Sequence[str]
) -> None:
    """Insert ROWS into TABLE, updating the row already stored under the same KEY."""
    if not rows:
        return
    names = list(rows[0])
    convert = record_converter(conn, table, names)
    await conn.exec_driver_sql("SELECT 1")  # the transaction begins through SQLAlchemy
    staging = f"pulse_upsert_{table.name}"
    await conn.exec_driver_sql(
        f'CREATE TEMPORARY TABLE IF NOT EXISTS "{staging}"'
        f' (LIKE "{table.name}" INCLUDING DEFAULTS) ON COMMIT DELETE ROWS'
    )
    await conn.exec_driver_sql(f'TRUNCATE "{staging}"')
    await copy_rows(conn, staging, names, [convert([row[n] for n in names]) for row in rows])
    columns = ", ".join(f'"{n}"' for n in names)
    keys = ", ".join(f'"{k}"' for k in key)
    updates = ", ".join(f'"{n}" = excluded."{n}"' for n in names if n not in key)
    # Names come from the schema and the caller's code, never from input.
    await conn.exec_driver_sql(
        f'INSERT INTO "{table.name}" ({columns}) SELECT {columns} FROM "{staging}"'  # noqa: S608
        f" ORDER BY {keys} ON CONFLICT ({keys}) DO UPDATE SET {updates}"
    )


async def insert_new_rows(
    conn: AsyncConnection,
    table: Table,
    names: Sequence[str],
    records: Sequence[Sequence],
    key: Sequence[str],
    returning: Sequence[str],
) -> list[tuple]:
    """Insert RECORDS (in NAMES order, already converted) into TABLE, skipping stored KEYs.

    What ``INSERT ... VALUES ... ON CONFLICT (KEY) DO NOTHING RETURNING`` does, by COPY: rows
    go in RECORDS' order (ids follow it), a key repeated inside RECORDS is inserted once (its
    first row), and the inserted rows' RETURNING columns come back. CONN's transaction must
    have begun through SQLAlchemy (see copy_rows).
    """
    if not records:
        return []
    staging = f"pulse_new_{table.name}"
    columns = ", ".join(f'"{n}"' for n in names)
    # The staging table holds the rows' order beside them; it lives as long as the connection
    # and is emptied by the statement that reads it, so a second batch in one transaction or
    # a rolled-back one finds it empty.
    await conn.exec_driver_sql(
        f'CREATE TEMPORARY TABLE IF NOT EXISTS "{staging}" ON COMMIT DELETE ROWS AS'  # noqa: S608
        f' SELECT 0 AS pulse_order, {columns} FROM "{table.name}" WITH NO DATA'
    )
    await copy_rows(
        conn, staging, ["pulse_order", *names], [(i, *row) for i, row in enumerate(records)]
    )
    keys = ", ".join(f'"{k}"' for k in key)
    wanted = ", ".join(f'"{n}"' for n in returning)
    # Names come from the schema and the caller's code, never from input.
    result = await conn.exec_driver_sql(
        f'WITH moved AS (DELETE FROM "{staging}" RETURNING *)'  # noqa: S608
        f' INSERT INTO "{table.name}" ({columns}) SELECT {columns} FROM moved'
        f" ORDER BY pulse_order ON CONFLICT ({keys}) DO NOTHING RETURNING {wanted}"
    )
    return [tuple(row) for row in result]
