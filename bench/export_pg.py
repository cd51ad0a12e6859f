"""bench/export.py on PostgreSQL: a throwaway server loaded with 100,000 members by COPY."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

import asyncpg

from bench.classify_roster import DAYS, NOW, build_roster, member_rows
from community.events import day_number
from storage.engine import create_engine
from storage.migrate import upgrade
from tests.pg import PostgresServer, find_pg_bin

MEMBERS = 100_000
TIERS = ("passive", "active", "hero")


def _moment(text: str | None) -> datetime | None:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC) if text else None


async def load(url: str) -> None:
    """Migrate URL's database and COPY the roster's members, assignments and quiet flags."""
    engine = create_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    rng = random.Random(7)
    today = day_number(NOW)
    rows = member_rows(build_roster(MEMBERS, today - DAYS + 1, today, rng), rng)
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        await conn.execute(
            "INSERT INTO spaces (id, platform, platform_id, name, created_at)"
            " VALUES (1, 'discord', 'bench', 'Pulse Bench Community', $1)",
            NOW,
        )
        await conn.copy_records_to_table(
            "members",
            columns=["id", "space_id", "platform_id", "display_name", "is_bot", "is_staff",
                     "joined_at", "left_at"],
            records=[(r[0], 1, r[2], r[3], bool(r[4]), bool(r[5]), _moment(r[6]),
                      _moment(r[7])) for r in rows],
        )  # fmt: skip
        await conn.copy_records_to_table(
            "tier_assignments",
            columns=["member_id", "space_id", "tier", "earned_tier", "score", "active_weeks",
                     "window_weeks", "helped_members", "answers", "thanks_received",
                     "contributions", "recent_score", "prior_score", "recent_replies",
                     "last_active_day", "below_count", "reasons", "since", "evaluated_at"],
            records=[(r[0], 1, TIERS[r[0] % 3], TIERS[r[0] % 3], r[0] % 997 / 3, 3, 13, 2, 0,
                      0, 0, 0.0, 0.0, 0, today - r[0] % 90, 0, "reasons", NOW, NOW)
                     for r in rows if not r[4] and not r[5]],
        )  # fmt: skip
        await conn.copy_records_to_table(
            "quiet_flags",
            columns=["space_id", "member_id", "status", "opened_at", "last_seen_at",
                     "usual_gap_days", "silent_days", "tier", "context"],
            records=[(1, r[0], "open", NOW - timedelta(days=2), NOW - timedelta(days=30), 3.0,
                      30.0, "active", "{}") for r in rows[::60]],
        )  # fmt: skip
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


def on_postgres(work, *, database: str = "bench_export", prepare=load):
    """Start a throwaway server, PREPARE database DATABASE, and return what WORK(url) returns."""
    bin_dir = find_pg_bin()
    if bin_dir is None:
        raise SystemExit("PostgreSQL binaries (initdb, pg_ctl) not found")
    server = PostgresServer(bin_dir)
    server.start()
    try:

        async def go():
            url = await server.create_database(database)
            await prepare(url)
            return await work(url)

        return asyncio.run(go())
    finally:
        server.stop()
