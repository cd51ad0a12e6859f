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
import sys
from pathlib import Path

from rich.console import Console

from storage.engine import create_engine
from storage.migrate import upgrade

# The tests' throwaway PostgreSQL server (tests/pg.py) is found from the root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.classify import _copy_world
from bench.export_pg import on_postgres
from bench.web import measure

console = Console()


def main() -> None:
    """Start the server, copy, measure RUNS times, print each run's table, stop the server."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True, help="SQLite file from bench/classify.py")
    parser.add_argument("--requests", type=int, default=20, help="timed requests per page (20)")
    parser.add_argument("--runs", type=int, default=2, help="measurements after one copy (2)")
    parser.add_argument("--only", nargs="+", help="only pages whose name holds one of these")
    args = parser.parse_args()

    async def copy_in(url: str) -> None:
        for each in (f"sqlite:///{args.db}", url):  # an older benchmark file is brought up
            engine = create_engine(each)
            try:
                await upgrade(engine)
            finally:
                await engine.dispose()
        await _copy_world(args.db, url)

    async def measure_runs(url: str) -> None:
        for run in range(args.runs):
            console.print(f"run {run + 1}")
            await measure(url, args.requests, args.only)

    on_postgres(measure_runs, database="bench_web", prepare=copy_in)


if __name__ == "__main__":
    main()
