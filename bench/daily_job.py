"""The daily job alone, on a community bench/classify.py already classified: steady state.

bench/classify.py clears tiers and flags and times the first run, which at a million members
takes many minutes. This script reuses the database as it stands (tiers and flags from earlier
runs at the benchmark's "now") and times what the bot does each day after that: the daily job,
``bot.services.classification.reclassify_and_scan``, as of DAYS days later, in a transaction
that is rolled back, so every run starts from the same rows and runs can alternate between
versions of the code. ``--fresh-flags`` deletes the quiet flags first (in the same
transaction): the quiet scan's first run, after a year of history::

    python bench/daily_job.py --database-url URL [--days 1] [--runs 2] [--fresh-flags]
    python bench/daily_job.py --database-url sqlite:////tmp/bench-pg/sqlite-1m.db
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from sqlalchemy import text

from bot.services.classification import reclassify_and_scan
from bot.settings import Settings
from storage.engine import begin_write, create_engine
from storage.locks import Job
from storage.spaces import resolve_space
from storage.uow import UnitOfWork

try:
    from bench.classify_roster import NOW
except ImportError:  # run as a script: bench/ itself is on sys.path
    from classify_roster import NOW  # type: ignore[no-redef]


class _Rollback(Exception):
    """Raised to end the measured transaction without committing it."""


class DryRun(UnitOfWork):
    """A unit of work whose exclusive transactions are rolled back (PREPARE runs first)."""

    def __init__(self, engine, prepare: list[str]) -> None:
        super().__init__(engine)
        self.prepare = prepare
        self.prepare_seconds = 0.0

    @asynccontextmanager
    async def exclusive(self, job: Job, space_id: int = 0) -> AsyncIterator:
        """The job's transaction, rolled back at the end of the block."""
        try:
            async with begin_write(self.engine) as conn:
                started = time.perf_counter()
                for statement in self.prepare:
                    await conn.execute(text(statement))
                self.prepare_seconds = time.perf_counter() - started
                yield conn
                raise _Rollback
        except _Rollback:
            pass


async def measure(url: str, days: int, runs: int, fresh_flags: bool) -> None:
    """Time the daily job RUNS times as of NOW + DAYS; print each run's figures."""
    settings = Settings()
    tiers, quiet = settings.tiers.policy(), settings.quiet.policy()
    engine = create_engine(url)
    prepare = ["DELETE FROM quiet_flags"] if fresh_flags else []
    try:
        async with engine.connect() as conn:
            space_id = await resolve_space(conn, None)
        when = NOW + timedelta(days=days)
        for run in range(1, runs + 1):
            uow = DryRun(engine, prepare)
            started = time.perf_counter()
            result, scan = await reclassify_and_scan(uow, space_id, when, tiers, quiet)
            # The job alone: what --fresh-flags deleted first is not part of it.
            seconds = time.perf_counter() - started - uow.prepare_seconds
            print(
                f"run {run}: {seconds:.2f} s; evaluated {result.evaluated:,}, wrote"
                f" {result.written:,}, {result.changes:,} changes, tiers {result.counts};"
                f" flags opened {scan.opened:,}, returned {scan.returned:,},"
                f" expired {scan.expired:,}",
                flush=True,
            )
    finally:
        await engine.dispose()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {rss:.0f} MiB")


def main(argv: list[str] | None = None) -> None:
    """Parse the options and measure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="the classified community")
    parser.add_argument("--days", type=int, default=1, help="days after the benchmark's now (1)")
    parser.add_argument("--runs", type=int, default=2, help="how many times (2)")
    parser.add_argument(
        "--fresh-flags", action="store_true", help="delete the quiet flags first (first scan)"
    )
    args = parser.parse_args(argv)
    asyncio.run(measure(args.database_url, args.days, args.runs, args.fresh_flags))


if __name__ == "__main__":
    main()
