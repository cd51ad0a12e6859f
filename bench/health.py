"""Outcomes benchmark: help health, join cohorts, outcome goals and the leadership report.

It reuses the database `bench/classify.py` builds (100,000 members, 5,000,000 activities over a
year, tiers computed) and times what `pulse health` and `pulse report` run, through the same
services, each several times (median / max):

* help health over 4 weeks (``bot.services.outcomes.health_over``: every question's first
  reply under the help graph's rule, answers per helper);
* the cohort funnel and retention over 6 months (``bot.services.outcomes.cohorts_over``);
* one figure of each outcome goal metric (``storage.goals.goal_value``) and their progress
  over nine weekly samples (``storage.goals.goals_progress``);
* the whole report over 6 months: figures, charts and files (``bot.services.report``,
  ``bot.report_render.write_report``), without goals and with one goal of each outcome metric.

Target (issue #17): the health figures and the report under 10 s each. Run from the root::

    python bench/classify.py --db /tmp/pulse-big.db   # build the community once
    python bench/health.py --db /tmp/pulse-big.db
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from bot.report_render import write_report
from bot.services.outcomes import cohorts_over, health_over
from bot.services.report import build_report
from bot.settings import parse_settings
from community.goals import Goal, GoalMetric
from storage.engine import create_engine
from storage.goals import goal_value, goals_progress
from storage.migrate import upgrade
from storage.models import Space
from storage.uow import UnitOfWork

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)  # the "now" bench/classify.py builds up to
OUTCOME_METRICS = [
    GoalMetric.ANSWERED_SHARE,
    GoalMetric.NEWCOMER_ACTIVATION_RATE,
    GoalMetric.COHORT_RETENTION_30D,
    GoalMetric.HELPER_CONCENTRATION,
]
console = Console()


async def timed(fn, runs: int) -> tuple[float, float, object]:
    """Median and max seconds of RUNS awaits of FN, and its last result."""
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = await fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), max(times), result


async def run(path: Path, runs: int) -> list[tuple[str, float, float, str]]:
    """Run every measurement on the database at PATH."""
    engine = create_engine(f"sqlite:///{path}")
    await upgrade(engine)
    uow = UnitOfWork(engine)
    goals = [
        {"metric": m.value, "target": 0.5 if m.is_fraction else 5, "by": date(2027, 6, 30)}
        for m in OUTCOME_METRICS
    ]
    settings = parse_settings({"goals": goals})
    rows = []
    try:
        async with engine.connect() as conn:
            space = (await conn.execute(select(Space.id))).scalar_one()

        med, worst, h = await timed(
            lambda: health_over(uow, settings.policies(), space, NOW, 4), runs
        )
        o = h.overall
        rows.append(("help health, 4 weeks", med, worst,
                     f"{o.questions:,} questions, median {o.median_hours or 0:.1f} h, "
                     f"concentration {h.concentration}"))  # fmt: skip
        med, worst, c = await timed(lambda: cohorts_over(uow, space, NOW, 6), runs)
        joined = sum(f.joined for f in c.funnels)
        rows.append(("cohort funnel and retention, 6 months", med, worst, f"{joined:,} joined"))
        for metric in OUTCOME_METRICS:

            async def one(metric=metric):
                async with engine.connect() as conn:
                    return await goal_value(conn, space, metric, NOW)

            med, worst, value = await timed(one, runs)
            rows.append((f"goal figure: {metric.value}", med, worst, metric.format(value)))

        async def progress():
            goal_list = [Goal(m, 0.5 if m.is_fraction else 5, date(2027, 6, 30))
                         for m in OUTCOME_METRICS]  # fmt: skip
            async with engine.connect() as conn:
                return await goals_progress(conn, space, goal_list, NOW)

        med, worst, p = await timed(progress, runs)
        rows.append(("4 outcome goals, 9 weekly samples each", med, worst,
                     "; ".join(g.status.value for g in p)))  # fmt: skip

        with tempfile.TemporaryDirectory() as out:
            for label, config in [("no goals", parse_settings({})), ("4 outcome goals", settings)]:

                async def report(config=config):
                    built, charts = await build_report(uow, config.policies(), space, NOW, 6)
                    return write_report(built, charts, Path(out), "bench-report")

                med, worst, files = await timed(report, runs)
                size = sum(f.stat().st_size for f in files)
                rows.append((f"pulse report, 6 months, {label}", med, worst,
                             f"{len(files)} files, {size / 1024:,.0f} KiB"))  # fmt: skip
    finally:
        await engine.dispose()
    return rows


def main() -> None:
    """Parse options, measure, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True, help="database from bench/classify.py")
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement (3)")
    args = parser.parse_args()
    if not args.db.exists():
        raise SystemExit(f"{args.db} does not exist: build it with bench/classify.py --db")
    rows = asyncio.run(run(args.db, args.runs))
    table = Table(title=f"Outcomes benchmark on {args.db}", title_justify="left")
    for column in ("measurement", "median", "max", "note"):
        table.add_column(column)
    for name, med, worst, note in rows:
        table.add_row(name, f"{med:,.2f} s", f"{worst:,.2f} s", note)
    console.print(table)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    console.print(f"peak RSS {peak:.0f} MiB")


if __name__ == "__main__":
    main()
