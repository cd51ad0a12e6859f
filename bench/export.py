"""Export benchmark: the members CSV and the dashboard's member-list pages at 100,000 members.

Runs on the classification benchmark's database (``bench/classify.py --db FILE`` builds and
classifies it; this script only upgrades its schema and reads). It times, as the CLI and the
dashboard call them:

* ``bot.services.exports.export_csv`` for the members CSV, written to a file (target: under
  3 s at 100,000 members), and the tier-changes CSV;
* ``bot.services.member_list.list_members`` for the pages the members table asks for: first
  page by score, a deep page, by name, filtered by tier, quiet and search, each RUNS times;

and reports the median and p95 of each, and the peak RSS of the process.

``--postgres`` runs the same on a throwaway PostgreSQL server (tests/pg.py) loaded with the
classification benchmark's roster of 100,000 members, tier assignments drawn for them and an
open quiet flag for one in 60 (no activities: the exports and the list read none).

    python bench/export.py --db /tmp/pulse-big.db
    python bench/export.py --db /tmp/pulse-big.db --runs 20 --export-runs 5
    python bench/export.py --postgres
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bot.services.exports import export_csv
from bot.services.member_list import MemberQuery, list_members
from storage.engine import create_engine
from storage.migrate import upgrade
from storage.spaces import resolve_space
from storage.uow import UnitOfWork

try:
    from bench.classify_roster import NOW
except ImportError:  # run as a script: bench/ itself is on sys.path
    from classify_roster import NOW  # type: ignore[no-redef]

console = Console()
EXPORT_TARGET_S = 3.0
PAGES = {
    "first page by score": MemberQuery(),
    "page 1,000 by score": MemberQuery(page=1000),
    "first page by name": MemberQuery(sort="name", descending=False),
    "hero tier by score": MemberQuery(tier="hero"),
    "quiet members": MemberQuery(quiet=True),
    "search 'grace'": MemberQuery(search="grace"),
    "sorted by last seen": MemberQuery(sort="last_seen"),
}


def p95(values: list[float]) -> float:
    """The 95th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


async def _export(uow: UnitOfWork, kind: str, space_id: int, out: Path) -> tuple[float, int]:
    started = time.perf_counter()
    size = 0
    with out.open("w", encoding="utf-8", newline="") as handle:
        async for chunk in export_csv(uow, kind, space_id, now=NOW):
            handle.write(chunk)
            size += len(chunk)
    return time.perf_counter() - started, size


async def run(url: str, runs: int, export_runs: int) -> Table:
    """Time the exports and the pages on the database at URL."""
    engine = create_engine(url)
    table = Table("measurement", "median", "p95", "runs", "target")
    try:
        await upgrade(engine)
        uow = UnitOfWork(engine)
        async with uow.read() as conn:
            space_id = await resolve_space(conn, None)
        with tempfile.TemporaryDirectory() as tmp:
            for kind in ("members", "tier-changes"):
                times, size = [], 0
                for _ in range(export_runs):
                    seconds, size = await _export(uow, kind, space_id, Path(tmp) / "out.csv")
                    times.append(seconds)
                median = statistics.median(times)
                target = f"< {EXPORT_TARGET_S:.0f} s" if kind == "members" else "-"
                if kind == "members":
                    target += " ✓" if median < EXPORT_TARGET_S else " ✗"
                table.add_row(f"{kind} CSV ({size / 1e6:.1f} MB)", f"{median:.2f} s",
                              f"{p95(times):.2f} s", str(export_runs), target)  # fmt: skip
                console.print(f"  {kind} CSV: {median:.2f} s")
        for label, query in PAGES.items():
            times, total = [], 0
            for _ in range(runs):
                started = time.perf_counter()
                page = await list_members(uow, space_id, query, now=NOW)
                times.append(time.perf_counter() - started)
                total = page.total
            table.add_row(f"list_members: {label} ({total:,} match)",
                          f"{statistics.median(times) * 1000:.0f} ms",
                          f"{p95(times) * 1000:.0f} ms", str(runs), "-")  # fmt: skip
            console.print(f"  {label}: {statistics.median(times) * 1000:.0f} ms")
    finally:
        await engine.dispose()
    return table


def main() -> None:
    """Parse the arguments, run, print the summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--db", type=Path, help="bench/classify.py's database")
    where.add_argument("--postgres", action="store_true", help="a throwaway PostgreSQL server")
    parser.add_argument("--runs", type=int, default=20, help="runs of each page")
    parser.add_argument("--export-runs", type=int, default=5, help="runs of each export")
    args = parser.parse_args()
    if args.postgres:
        from bench.export_pg import on_postgres

        table = on_postgres(lambda url: run(url, args.runs, args.export_runs))
    else:
        if not args.db.exists():
            parser.error(f"{args.db} does not exist: build it with bench/classify.py --db")
        table = asyncio.run(run(f"sqlite:///{args.db}", args.runs, args.export_runs))
    console.print(table)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    console.print(f"peak RSS: {rss:.0f} MB")


if __name__ == "__main__":
    main()
