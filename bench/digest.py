"""Digest benchmark: build both weekly digests, their renderings and the chart on a big community.

It reuses the database `bench/classify.py` builds (100,000 members, 5,000,000 activities over a
year, tiers and quiet flags computed), adds a few hundred outreach actions, then times the
project's own functions as the scheduler runs them, each several times (median / max):

* the community digest (``storage.digests.community_digest``);
* the staff digest without goals and with one goal of each metric
  (``storage.digests.staff_digest``; each goal is measured at nine weekly points);
* rendering both to Discord, Slack and text (``bot.digest_render.rendered.render``);
* drawing the chart (``bot.chart.weekly_active_chart``).

With ``--profile`` it then builds the staff digest with the nine goals once more and prints
where the time went, statement by statement (SQLAlchemy's cursor events: each statement's
count and total seconds, slowest first).

The digest job runs once a week in the background, so there is no hard target; it should stay
within seconds so a catch-up at start does not hold anything up.

Run it from the project root::

    python bench/classify.py --db /tmp/pulse-big.db   # build the community once
    python bench/digest.py --db /tmp/pulse-big.db
    python bench/digest.py --database-url postgresql://...   # the community classify.py copied
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import delete, event, select, update

from bot.chart import weekly_active_chart
from bot.digest_render.rendered import render
from community.goals import Goal, GoalMetric
from community.tiers import TierPolicy
from storage.digests import community_digest, staff_digest, week_ending
from storage.engine import create_engine
from storage.migrate import upgrade
from storage.models import Outreach, QuietFlag, Space
from storage.outreach import mark_re_engaged, reached_out

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)  # the "now" bench/classify.py builds up to
console = Console()
GOALS = [Goal(metric, 1.0 if metric.is_fraction else 100.0,
              date(2027, 6, 30)) for metric in GoalMetric]  # fmt: skip


async def timed(fn, runs: int) -> tuple[float, float, object]:
    """Median and max seconds of RUNS awaits of FN, and its last result."""
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = await fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), max(times), result


class StatementTimes:
    """Seconds spent in each distinct statement an engine runs, from its cursor events."""

    def __init__(self, engine) -> None:
        self.totals: dict[str, list[float]] = {}
        event.listen(engine.sync_engine, "before_cursor_execute", self._before)
        event.listen(engine.sync_engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, params, context, executemany) -> None:
        context._bench_started = time.perf_counter()

    def _after(self, conn, cursor, statement, params, context, executemany) -> None:
        seconds = time.perf_counter() - context._bench_started
        entry = self.totals.setdefault(" ".join(statement.split())[:110], [0, 0.0])
        entry[0] += 1
        entry[1] += seconds

    def print(self, title: str, top: int = 12) -> None:
        """The TOP statements by total time."""
        table = Table(title=title, title_justify="left")
        for column in ("seconds", "runs", "statement"):
            table.add_column(column)
        for text, (n, seconds) in sorted(self.totals.items(), key=lambda kv: -kv[1][1])[:top]:
            table.add_row(f"{seconds:.2f}", str(n), text)
        console.print(table)


async def profile(url: str) -> None:
    """Build the staff digest with every goal once and print its statements' times."""
    engine = create_engine(url)
    times = StatementTimes(engine)
    try:
        async with engine.connect() as conn:
            space = (await conn.execute(select(Space.id))).scalar_one()
            started = time.perf_counter()
            await staff_digest(conn, space, week_ending(NOW), TierPolicy(), GOALS)
            total = time.perf_counter() - started
    finally:
        await engine.dispose()
    spent = sum(seconds for _, seconds in times.totals.values())
    times.print(f"Staff digest with {len(GOALS)} goals: {total:.1f} s, {spent:.1f} s in SQL")


async def run(url: str, runs: int) -> list[tuple[str, float, float | None, str]]:
    """Run every measurement on the database at URL."""
    engine = create_engine(url)
    await upgrade(engine)
    policy = TierPolicy()
    period = week_ending(NOW)
    rows = []
    try:
        async with engine.begin() as conn:
            space = (await conn.execute(select(Space.id))).scalar_one()
            # A rerun reopens the flags the last run's reach-outs snoozed, then starts over.
            await conn.execute(
                update(QuietFlag)
                .where(
                    QuietFlag.id.in_(
                        select(Outreach.flag_id).where(Outreach.staff_platform_id == "bench-staff")
                    )
                )
                .values(status="open", snoozed_until=None)
            )
            await conn.execute(delete(Outreach))
            flags = (await conn.execute(select(QuietFlag.id).limit(300))).scalars().all()
            for i, flag in enumerate(flags):
                await reached_out(conn, space, flag, "bench-staff", NOW - timedelta(days=i % 60))
            started = time.perf_counter()
            marked = await mark_re_engaged(conn, space, NOW)
            rows.append(("mark re-engaged (300 reach-outs)", time.perf_counter() - started, None,
                         f"{marked} re-engaged"))  # fmt: skip

        async def community():
            async with engine.connect() as conn:
                return await community_digest(conn, space, period, policy)

        async def staff(goals=()):
            async with engine.connect() as conn:
                return await staff_digest(conn, space, period, policy, goals)

        med, worst, c = await timed(community, runs)
        rows.append(("community digest", med, worst, f"{len(c.shout_outs)} shout-outs"))
        med, worst, s = await timed(staff, runs)
        rows.append(("staff digest, no goals", med, worst, f"{s.quiet_total} quiet"))
        med, worst, s = await timed(lambda: staff(GOALS), runs)
        rows.append(
            (f"staff digest, {len(GOALS)} goals", med, worst, "; ".join(g.status for g in s.goals))
        )

        async def both():
            return render(c), render(s)

        med, worst, _ = await timed(both, runs)
        rows.append(("render both (Discord, Slack, text)", med, worst, ""))

        async def chart():
            return weekly_active_chart(s.weekly_active)

        await chart()  # the first draw pays for importing matplotlib and its font cache
        med, worst, png = await timed(chart, runs)
        rows.append(("chart PNG", med, worst, f"{len(png):,} bytes"))
    finally:
        await engine.dispose()
    return rows


def main() -> None:
    """Parse options, measure, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--db", type=Path, help="SQLite database from bench/classify.py")
    where.add_argument("--database-url", help="any database bench/classify.py measured")
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement (5)")
    parser.add_argument("--profile", action="store_true", help="then time each statement")
    args = parser.parse_args()
    if args.db is not None and not args.db.exists():
        raise SystemExit(f"{args.db} does not exist: build it with bench/classify.py --db")
    url = args.database_url or f"sqlite:///{args.db}"
    rows = asyncio.run(run(url, args.runs))
    table = Table(title=f"Digest benchmark on {url}", title_justify="left")
    for column in ("measurement", "median", "max", "note"):
        table.add_column(column)
    for name, med, worst, note in rows:
        worst_text = "-" if worst is None else f"{worst * 1000:,.0f} ms"
        table.add_row(name, f"{med * 1000:,.0f} ms", worst_text, note)
    console.print(table)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    console.print(f"peak RSS {peak:.0f} MiB")
    if args.profile:
        asyncio.run(profile(url))


if __name__ == "__main__":
    main()
