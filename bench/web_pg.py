"""bench/web.py on PostgreSQL: the classification benchmark's SQLite file, copied by COPY.

It starts a throwaway server (tests/pg.py, 127.0.0.1 only, fsync off), migrates an empty
database, copies every table of the SQLite file into it table by table (rows read through the
models, so times, flags and JSON arrive typed; written with asyncpg's COPY), moves the id
sequences past the copied ids, runs ANALYZE, and then measures the dashboard's pages there
with bench/web.py's `measure`, RUNS times. The server and its files are removed at the end.

Run it from the project root::

    python bench/web_pg.py --db /tmp/pulse-big.db [--requests 20] [--runs 2] [--only ...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

import asyncpg
from rich.console import Console
from sqlalchemy import JSON, select

from storage.engine import create_engine
from storage.migrate import upgrade
from storage.models import Base

try:
    from bench.web import measure
except ImportError:  # run as a script: bench/ itself is on sys.path
    from web import measure  # type: ignore[no-redef]
# The tests' throwaway PostgreSQL server (tests/pg.py): tests/ is found from the root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.pg import PostgresServer, find_pg_bin

console = Console()


def _record(row, json_columns: list[int]) -> tuple:
    values = list(row)
    for i in json_columns:
        if values[i] is not None:
            values[i] = json.dumps(values[i])
    return tuple(values)


async def copy_database(source: str, target: str, batch: int = 50_000) -> None:
    """Copy every table of SOURCE (migrated to the head first) into TARGET's empty schema."""
    for url in (source, target):
        engine = create_engine(url)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()
    reader = create_engine(source)
    writer = await asyncpg.connect(target.replace("postgresql+asyncpg", "postgresql"))
    try:
        for table in Base.metadata.sorted_tables:
            started, count = time.perf_counter(), 0
            columns = [c.name for c in table.columns]
            json_columns = [i for i, c in enumerate(table.columns) if isinstance(c.type, JSON)]
            async with reader.connect() as conn:
                result = await conn.stream(select(table).execution_options(yield_per=batch))
                async for part in result.partitions(batch):
                    records = [_record(row, json_columns) for row in part]
                    await writer.copy_records_to_table(table.name, columns=columns, records=records)
                    count += len(records)
            if "id" in table.c and count:
                await writer.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'),"
                    f" (SELECT max(id) FROM {table.name}))"
                )
            took = time.perf_counter() - started
            console.print(f"  {table.name}: {count:,} rows in {took:.0f} s")
        await writer.execute("ANALYZE")
    finally:
        await writer.close()
        await reader.dispose()


def main() -> None:
    """Start the server, copy, measure RUNS times, print each run's table, stop the server."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True, help="SQLite file from bench/classify.py")
    parser.add_argument("--requests", type=int, default=20, help="timed requests per page (20)")
    parser.add_argument("--runs", type=int, default=2, help="measurements after one copy (2)")
    parser.add_argument("--only", nargs="+", help="only pages whose name holds one of these")
    args = parser.parse_args()
    bin_dir = find_pg_bin()
    if bin_dir is None:
        raise SystemExit("PostgreSQL binaries (initdb, pg_ctl) not found")
    server = PostgresServer(bin_dir)
    server.start()
    try:

        async def go():
            admin = await asyncpg.connect(server.admin_dsn())
            try:
                await admin.execute('CREATE DATABASE "bench_web"')
            finally:
                await admin.close()
            url = server.url("bench_web")
            started = time.perf_counter()
            await copy_database(f"sqlite+aiosqlite:///{args.db}", url)
            console.print(f"copied in {time.perf_counter() - started:.0f} s")
            for run in range(args.runs):
                console.print(f"run {run + 1}")
                await measure(url, args.requests, args.only)

        asyncio.run(go())
    finally:
        server.stop()


if __name__ == "__main__":
    main()
