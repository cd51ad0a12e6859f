"""Dashboard benchmark: how long each page and export takes to answer on a big community.

It reuses the database `bench/classify.py` builds (100,000 members, 5,000,000 activities over a
year, tiers and quiet flags computed), upgrades it (the dashboard's tables), signs in with an
operator link, and requests each page through the real dashboard served on 127.0.0.1 with
aiohttp: REQUESTS times each after a first, "cold" request, reporting the cold time, then the
median and the 95th percentile of the time from sending the request to reading the whole
answer (on loopback, that is the server's time plus well under a millisecond). The overview,
its chart and the channels page keep their whole-community figures for a five-minute slot
(bot/services/recent.py): their cold time is what the first request of each slot pays.
Target: every page p95 under 150 ms.

Run it from the project root::

    python bench/classify.py --db /tmp/pulse-big.db   # build the community once
    python bench/web.py --db /tmp/pulse-big.db [--requests 20] [--only member ...]

`--only` keeps the pages whose name holds one of the given words (to compare versions
quickly); `--database-url` measures another database instead, such as the PostgreSQL copy
`bench/web_pg.py` makes of the SQLite file.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from bot.services.classification import reclassify_and_scan
from bot.services.web_auth import link_for_operator
from bot.settings import Settings
from bot.web.app import build_app, serve_web
from community.clock import FixedClock
from storage.engine import create_engine
from storage.meta import hash_key
from storage.migrate import upgrade
from storage.models import QuietFlag, TierAssignment
from storage.spaces import resolve_space
from storage.uow import UnitOfWork

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)  # the "now" bench/classify.py builds up to
console = Console()


def pages(space: int, hero: int, quiet: int) -> dict[str, str]:
    """The dashboard's pages and charts for community SPACE, by name."""
    return {
        "overview": f"/c/{space}/",
        "overview chart (SVG)": f"/c/{space}/chart/weekly.svg",
        "member (a hero)": f"/c/{space}/member/{hero}",
        "member (quiet)": f"/c/{space}/member/{quiet}",
        "quiet": f"/c/{space}/quiet",
        "hero candidates": f"/c/{space}/heroes",
        "channels": f"/c/{space}/channels",
        "members, first page (by score)": f"/c/{space}/members",
        "members, active, by name, page 3": (
            f"/c/{space}/members?tier=active&sort=name&desc=0&page=3"
        ),
        "members, search": f"/c/{space}/members?q=ana",
        "members CSV (all 100,000)": f"/c/{space}/export/members.csv",
        "tier changes CSV": f"/c/{space}/export/tier-changes.csv",
        "outreach CSV": f"/c/{space}/export/outreach.csv",
        "weekly CSV": f"/c/{space}/export/weekly.csv",
    }


async def measure(
    url: str, requests: int, only: list[str] | None = None
) -> list[tuple[str, float, float, float, int]]:
    """(page, cold ms, median ms, p95 ms, bytes) for every page (those named by ONLY)."""
    engine = create_engine(url)
    await upgrade(engine)
    uow, clock = UnitOfWork(engine), FixedClock(NOW)
    key = await hash_key(engine, None)
    async with uow.read() as conn:
        space = await resolve_space(conn, None)
        classified = (await conn.execute(select(TierAssignment.member_id).limit(1))).first()
    if classified is None:
        # bench/classify.py times its runs without keeping them: run the daily job once.
        console.print("  no tiers stored yet: running the daily job once (about a minute)")
        settings = Settings()
        await reclassify_and_scan(uow, space, NOW, settings.tiers.policy(), settings.quiet.policy())
    async with uow.read() as conn:
        hero = (
            await conn.execute(
                select(TierAssignment.member_id).where(TierAssignment.tier == "hero").limit(1)
            )
        ).scalar_one()
        quiet = (await conn.execute(select(QuietFlag.member_id).limit(1))).scalar_one()
    stop, ready = asyncio.Event(), asyncio.get_running_loop().create_future()
    app = build_app(uow, Settings(), key, clock)
    server = asyncio.create_task(serve_web(app, "127.0.0.1", 0, stop, ready.set_result))
    results = []
    try:
        base = await ready
        token = await link_for_operator(uow, space, clock.now(), 10)
        # unsafe=True: aiohttp keeps no cookies for an IP address (127.0.0.1) otherwise.
        async with aiohttp.ClientSession(base, cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            signed = await http.post("/signin", data={"token": token}, allow_redirects=False)
            await signed.read()
            for name, path in pages(space, hero, quiet).items():
                if only and not any(word in name for word in only):
                    continue
                times, size, cold = [], 0, 0.0
                for run in range(requests + 1):
                    started = time.perf_counter()
                    async with http.get(path) as answer:
                        body = await answer.read()
                        if answer.status != 200:
                            raise RuntimeError(f"{path}: HTTP {answer.status}")
                    if run:
                        times.append(time.perf_counter() - started)
                    else:
                        cold = time.perf_counter() - started
                    size = len(body)
                p95 = statistics.quantiles(times, n=20)[18] if len(times) > 1 else times[0]
                median = statistics.median(times)
                results.append((name, cold * 1000, median * 1000, p95 * 1000, size))
                console.print(
                    f"  {name}: cold {cold * 1000:.0f} ms, median {median * 1000:.0f} ms, "
                    f"p95 {p95 * 1000:.0f} ms"
                )
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await server
        await engine.dispose()
    return results


def main() -> None:
    """Parse arguments, measure, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--db", type=Path, help="SQLite file from bench/classify.py")
    where.add_argument("--database-url", help="any database holding that community")
    parser.add_argument("--requests", type=int, default=20, help="timed requests per page (20)")
    parser.add_argument("--only", nargs="+", help="only pages whose name holds one of these")
    args = parser.parse_args()
    url = args.database_url or f"sqlite+aiosqlite:///{args.db}"
    results = asyncio.run(measure(url, args.requests, args.only))
    table = Table(title=f"Dashboard pages, {args.requests} requests each")
    for column in ("page", "cold ms", "median ms", "p95 ms", "bytes"):
        table.add_column(column, justify="left" if column == "page" else "right")
    for name, cold, median, p95, size in results:
        table.add_row(name, f"{cold:.0f}", f"{median:.0f}", f"{p95:.0f}", f"{size:,}")
    console.print(table)


if __name__ == "__main__":
    main()
