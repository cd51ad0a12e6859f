"""bench/web.py on PostgreSQL: the classification benchmark's SQLite file, copied by COPY.

It starts a throwaway server (tests/pg.py, 127.0.0.1 only, fsync off), brings the SQLite file
and an empty database to the newest schema, copies the file in as `pulse db copy` does
(storage.copy: COPY, sequences reset, ANALYZE), and then measures the dashboard's pages there
with bench/web.py's `measure`, RUNS times. The server and its files are removed at the end.

Run it from the project root::

    python bench/web_pg.py --db /tmp/pulse-big.db [--requests 20] [--runs 2] [--only ...]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import asyncpg
from rich.console import Console

from storage.engine import create_engine
from storage.migrate import upgrade

try:
    from bench.classify import _copy_world
    from bench.web import measure
except ImportError:  # run as a script: bench/ itself is on sys.path
    from classify import _copy_world  # type: ignore[no-redef]
    from web import measure  # type: ignore[no-redef]
# The tests' throwaway PostgreSQL server (tests/pg.py): tests/ is found from the root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.pg import PostgresServer, find_pg_bin

console = Console()


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
            for each in (f"sqlite:///{args.db}", url):  # an older benchmark file is brought up
                engine = create_engine(each)
                try:
                    await upgrade(engine)
                finally:
                    await engine.dispose()
            await _copy_world(args.db, url)
            for run in range(args.runs):
                console.print(f"run {run + 1}")
                await measure(url, args.requests, args.only)

        asyncio.run(go())
    finally:
        server.stop()


if __name__ == "__main__":
    main()
