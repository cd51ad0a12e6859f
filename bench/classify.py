"""Classification benchmark: reclassify, quiet scan and the read queries on a big community.

It builds one SQLite community of 100,000 members and 5,000,000 activities over the 365 days
ending at a fixed "now" (2026-11-22 12:00 UTC), then times the project's own functions on the
async engine, as the bot runs them:

* full reclassification, ``storage.reclassify.reclassify`` in one ``engine.begin()``
  transaction, twice: the first run writes every tier assignment, the second is the
  steady-state daily run (target: each under 15 s on this 2-core machine);
* the quiet scan, ``storage.quiet.scan_quiet``, twice: the first opens every flag the
  year of history calls for, the second is the steady-state daily scan;
* the daily job ``bot.services.classification.reclassify_and_scan`` (both steps in one
  transaction), steady state;
* the read queries ``hero_candidates``, ``quiet_list``, ``member_profile`` by platform id and
  ``member_profile`` by display name, each run 20 times (target: each under 100 ms).

The community is built by bench/classify_world.py (the database: migrations, bulk inserts,
rollups derived with SQL) from the members bench/classify_roster.py draws (heavy, regular and
casual profiles, some gone quiet); this script times the measurements and prints the summary.
The data is built in a child process so the peak RSS reported for the benchmark is its own.

Run it from the project root with the project's virtualenv::

    python bench/classify.py
    python bench/classify.py --members 5000 --activities 200000      # a quick check
    python bench/classify.py --keep                                  # keep the database
    python bench/classify.py --db /tmp/pulse-big.db   # build once, reuse on later runs

On PostgreSQL (``--database-url``, e.g. the server bench/pg_server.py keeps) the community is
built on SQLite as above (at ``--db`` when given, so both backends hold the same rows) and moved
over by ``storage.copy.copy_database``, what ``pulse db copy`` runs: COPY, then ANALYZE. A
database that already holds members is reused (tiers and flags cleared)::

    python bench/pg_server.py start
    python bench/classify.py --members 1000000 --activities 20000000 --db FILE \
        --database-url "$(python bench/pg_server.py url)"

At a million members or more the scale targets apply (issue 19): the daily job (reclassification
and quiet scan) under 60 s, each query's p95 under 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import resource
import shutil
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from rich.table import Table
from sqlalchemy import text

from bot.services.classification import reclassify_and_scan
from bot.settings import Settings
from storage.copy import copy_database
from storage.engine import create_engine
from storage.migrate import upgrade
from storage.profiles import member_profile
from storage.quiet import quiet_list, scan_quiet
from storage.reclassify import reclassify
from storage.spaces import resolve_space
from storage.tiers import hero_candidates
from storage.uow import UnitOfWork

try:
    from bench.classify_roster import NOW
    from bench.classify_world import console, generate
except ImportError:  # run as a script: bench/ itself is on sys.path
    from classify_roster import NOW  # type: ignore[no-redef]
    from classify_world import console, generate  # type: ignore[no-redef]

QUERY_RUNS = 40
RECLASSIFY_TARGET_S = 15.0
QUERY_TARGET_MS = 100.0
# Issue 19's targets for a million members: the daily job, and each query's p95.
SCALE_MEMBERS = 1_000_000
DAILY_JOB_TARGET_S = 60.0
QUERY_P95_TARGET_MS = 50.0
DERIVED_TABLES = ("tier_changes", "tier_assignments", "quiet_flags")


@dataclass
class Line:
    """One row of the summary table."""

    name: str
    value: str
    target: str
    ok: bool | None  # None: no target, reported for information


@dataclass
class Report:
    """What the benchmark measured."""

    lines: list[Line] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


async def _timed(call: Callable[[], Awaitable]) -> tuple[float, object]:
    started = time.perf_counter()
    result = await call()
    return time.perf_counter() - started, result


async def run_benchmark(url: str, scale: bool = False, reads_only: bool = False) -> Report:
    """Time reclassify, scan_quiet and the read queries on the database at URL.

    SCALE: judge the daily job and the queries' p95 by the million-member targets.
    READS_ONLY: time only the read queries, on the tiers and flags as stored.
    """
    settings = Settings()
    tiers, quiet = settings.tiers.policy(), settings.quiet.policy()
    report = Report()
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            space_id = await resolve_space(conn, None)
        if reads_only:
            await time_reads(engine, space_id, report, scale)
            return report

        for label in ("first run", "steady state"):
            started = time.perf_counter()  # the whole transaction, commit included
            async with engine.begin() as conn:
                result = await reclassify(conn, space_id, NOW, tiers)
            seconds = time.perf_counter() - started
            report.lines.append(
                Line(
                    f"reclassify ({label})",
                    f"{seconds:.2f} s",
                    f"< {RECLASSIFY_TARGET_S:.0f} s",
                    seconds < RECLASSIFY_TARGET_S,
                )
            )
            report.notes.append(
                f"reclassify {label}: evaluated {result.evaluated:,}, wrote {result.written:,},"
                f" {result.changes:,} changes; tiers {result.counts}"
            )
            console.print(f"  reclassify ({label}): {seconds:.2f} s")

        for label in ("first run", "steady state"):
            started = time.perf_counter()
            async with engine.begin() as conn:
                scan = await scan_quiet(conn, space_id, NOW, tiers, quiet)
            seconds = time.perf_counter() - started
            report.lines.append(Line(f"scan_quiet ({label})", f"{seconds:.2f} s", "-", None))
            report.notes.append(
                f"scan_quiet {label}: opened {scan.opened:,}, returned {scan.returned:,},"
                f" expired {scan.expired:,}"
            )
            console.print(f"  scan_quiet ({label}): {seconds:.2f} s")

        # The daily job as the bot runs it: both steps in one transaction.
        seconds, _ = await _timed(
            lambda: reclassify_and_scan(UnitOfWork(engine), space_id, NOW, tiers, quiet)
        )
        report.lines.append(
            Line(
                "reclassify_and_scan (daily job)",
                f"{seconds:.2f} s",
                f"< {DAILY_JOB_TARGET_S:.0f} s" if scale else "-",
                seconds < DAILY_JOB_TARGET_S if scale else None,
            )
        )
        console.print(f"  reclassify_and_scan (daily job): {seconds:.2f} s")

        await time_reads(engine, space_id, report, scale)
    finally:
        await engine.dispose()
    return report


async def time_reads(engine, space_id: int, report: Report, scale: bool) -> None:
    """Time the read commands (candidates, quiet list, member page) on the stored rows."""
    tiers = Settings().tiers.policy()
    heavy_id, heavy_name = await _busiest_member(engine)
    report.notes.append(f"member_profile target: {heavy_id} ({heavy_name})")
    queries: list[tuple[str, Callable]] = [
        ("hero_candidates(25)", lambda c: hero_candidates(c, space_id, tiers, 25)),
        ("quiet_list(25)", lambda c: quiet_list(c, space_id, NOW, 25)),
        ("member_profile(platform id)", lambda c: member_profile(c, space_id, heavy_id, NOW)),
        ("member_profile(name)", lambda c: member_profile(c, space_id, heavy_name, NOW)),
    ]
    for name, query in queries:
        samples = []
        async with engine.connect() as conn:
            for _ in range(QUERY_RUNS):
                seconds, result = await _timed(lambda query=query, conn=conn: query(conn))
                samples.append(seconds * 1000)
        median, worst = statistics.median(samples), max(samples)
        p95 = statistics.quantiles(samples, n=20)[18]
        target = QUERY_P95_TARGET_MS if scale else QUERY_TARGET_MS
        report.lines.append(
            Line(
                name,
                f"{median:.1f} / {p95:.1f} / {worst:.1f} ms",
                f"p95 < {target:.0f} ms" if scale else f"< {target:.0f} ms",
                (p95 if scale else worst) < target,
            )
        )
        size = len(result) if isinstance(result, list) else getattr(result, "tier", "")
        console.print(
            f"  {name}: median {median:.1f} ms, p95 {p95:.1f} ms, max {worst:.1f} ms ({size})"
        )


async def _busiest_member(engine) -> tuple[str, str]:
    """Platform id and display name of the eligible member who posted most."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT m.platform_id, m.display_name FROM member_daily_rollups r"
                    " JOIN members m ON m.id = r.member_id"
                    " WHERE NOT m.is_staff AND NOT m.is_bot AND m.left_at IS NULL"
                    " GROUP BY r.member_id, m.platform_id, m.display_name"
                    " ORDER BY sum(r.messages) DESC, r.member_id LIMIT 1"
                )
            )
        ).one()
    return row[0], row[1]


async def _table_counts(url: str) -> dict[str, int]:
    tables = (
        "members",
        "activities",
        "member_daily_rollups",
        "help_edges",
        "member_channel_rollups",
    )
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return {
                t: (await conn.execute(text(f"SELECT count(*) FROM {t}"))).scalar() for t in tables
            }
    finally:
        await engine.dispose()


async def _reset_derived(url: str) -> None:
    """Forget tiers and flags from an earlier run, so a reused database starts fresh.

    A database an older Pulse built is brought to the current schema first.
    """
    engine = create_engine(url)
    try:
        await upgrade(engine)
        async with engine.begin() as conn:
            for table in DERIVED_TABLES:
                await conn.execute(text(f"DELETE FROM {table}"))
    finally:
        await engine.dispose()


async def _holds_members(url: str) -> bool:
    """Whether the database at URL has a schema and members in it."""
    engine = create_engine(url)
    try:
        await upgrade(engine)
        async with engine.connect() as conn:
            return (await conn.execute(text("SELECT count(*) FROM members"))).scalar() > 0
    finally:
        await engine.dispose()


async def _copy_world(path: Path, url: str) -> None:
    """Copy the SQLite community at PATH into URL as `pulse db copy` does; print the time."""
    source, target = create_engine(f"sqlite:///{path}"), create_engine(url)
    shown: dict[str, float] = {}

    def progress(table: str, copied: int, total: int) -> None:
        if copied == total and table not in shown:
            shown[table] = time.perf_counter()
            console.print(f"  copied {table}: {total:,} rows")

    try:
        started = time.perf_counter()
        report = await copy_database(source, target, progress)
        seconds = time.perf_counter() - started
        console.print(
            f"  copied {report.total:,} rows in {seconds:.0f} s"
            f" ({report.total / seconds:,.0f} rows/s, ANALYZE included)"
        )
    finally:
        await source.dispose()
        await target.dispose()


def peak_rss_mib(who: int = resource.RUSAGE_SELF) -> float:
    """Peak resident set size in MiB (Linux reports KiB)."""
    return resource.getrusage(who).ru_maxrss / 1024


def print_summary(
    report: Report, counts: dict[str, int], build_seconds: float | None, backend: str
) -> None:
    """The summary table, the notes behind it and the peak RSS."""
    table = Table(
        title=f"Pulse classification benchmark ({backend})",
        caption=f"queries: median / p95 / max of {QUERY_RUNS} runs",
    )
    table.add_column("measurement")
    table.add_column("result", justify="right")
    table.add_column("target", justify="right")
    table.add_column("status")
    for line in report.lines:
        status = "-" if line.ok is None else ("PASS" if line.ok else "MISS")
        style = "" if line.ok is None else ("green" if line.ok else "bold red")
        table.add_row(line.name, line.value, line.target, f"[{style}]{status}[/]" if style else "-")
    console.print(table)
    console.print("data: " + ", ".join(f"{n:,} {t}" for t, n in counts.items()))
    if build_seconds is not None:
        console.print(f"data built in {build_seconds:.0f} s (not part of any measurement)")
    for note in report.notes:
        console.print(note)
    console.print(f"peak RSS, benchmark process: {peak_rss_mib():,.0f} MiB")
    children = peak_rss_mib(resource.RUSAGE_CHILDREN)
    if children:
        console.print(f"peak RSS, data generation (child): {children:,.0f} MiB")
    misses = [line.name for line in report.lines if line.ok is False]
    console.print("result: " + ("all targets met" if not misses else "MISS " + ", ".join(misses)))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000, help="members (100000)")
    parser.add_argument("--activities", type=int, default=5_000_000, help="activities (5000000)")
    parser.add_argument("--seed", type=int, default=1, help="generator seed (1)")
    parser.add_argument("--keep", action="store_true", help="keep the database and print its path")
    parser.add_argument(
        "--db",
        type=Path,
        help="database file: built there if missing and kept; reused (tiers and flags"
        " cleared) if it exists",
    )
    parser.add_argument(
        "--database-url",
        help="measure on this database (postgresql://...) instead of the SQLite file: filled"
        " from the SQLite community (built first) when it holds no members, else reused",
    )
    parser.add_argument(
        "--reads-only",
        action="store_true",
        help="time only the read commands on an existing, classified --db or --database-url"
        " (tiers and flags kept)",
    )
    args = parser.parse_args(argv)
    if args.reads_only and args.db is None and args.database_url is None:
        parser.error("--reads-only needs --db or --database-url")
    if args.members < 2 or args.activities < 1:
        parser.error("--members must be at least 2 and --activities positive")
    return args


def main(argv: list[str] | None = None) -> None:
    """Build the community (unless reused), run the measurements and print the summary."""
    args = parse_args(argv)
    workdir = None
    if args.db is not None:
        path = args.db
    else:
        workdir = Path(tempfile.mkdtemp(prefix="pulse-bench-classify-"))
        path = workdir / "pulse.db"
    url = args.database_url or f"sqlite:///{path}"
    if args.reads_only:
        counts = asyncio.run(_table_counts(url))
        scale = counts["members"] >= SCALE_MEMBERS
        backend = "PostgreSQL" if url.startswith("postgres") else "SQLite"
        print_summary(
            asyncio.run(run_benchmark(url, scale, reads_only=True)), counts, None, backend
        )
        return
    try:
        build_seconds = None
        target_filled = args.database_url is not None and asyncio.run(_holds_members(url))
        if target_filled or (args.database_url is None and path.exists()):
            console.print(f"reusing {url} (tier assignments, tier changes and flags cleared)")
            asyncio.run(_reset_derived(url))
        else:
            started = time.perf_counter()
            if path.exists():
                console.print(f"reusing {path} (tiers and flags cleared) to fill {url}")
                asyncio.run(_reset_derived(f"sqlite:///{path}"))
            else:
                console.print(
                    f"building {args.members:,} members and {args.activities:,} activities"
                    f" in {path}"
                )
                # A child process, so the benchmark's peak RSS is not the generator's.
                child = multiprocessing.get_context("fork").Process(
                    target=generate, args=(path, args.members, args.activities, args.seed)
                )
                child.start()
                child.join()
                if child.exitcode != 0:
                    raise SystemExit(f"data generation failed (exit code {child.exitcode})")
            if args.database_url is not None:
                asyncio.run(_copy_world(path, url))
            build_seconds = time.perf_counter() - started
        counts = asyncio.run(_table_counts(url))
        console.print("measuring")
        backend = "PostgreSQL" if url.startswith("postgres") else "SQLite"
        report = asyncio.run(run_benchmark(url, scale=counts["members"] >= SCALE_MEMBERS))
        print_summary(report, counts, build_seconds, backend)
        if args.keep or args.db is not None:
            console.print(f"kept: {path}")
    finally:
        if workdir is not None and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
