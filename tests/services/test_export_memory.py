"""The members export of 100,000 members streams: memory stays far below the export's size."""

import random
import sqlite3
import tracemalloc

from bench.classify_roster import DAYS, NOW, build_roster, db_text, member_rows
from bot.services.exports import export_csv
from community.events import day_number
from storage.uow import UnitOfWork

MEMBERS = 100_000


def fill(path) -> int:
    """Bulk-insert a space of MEMBERS members (the benchmark's roster) with tier assignments."""
    rng = random.Random(7)
    today = day_number(NOW)
    roster = build_roster(MEMBERS, today - DAYS + 1, today, rng)
    rows = member_rows(roster, rng)
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("BEGIN")
        db.execute(
            "INSERT INTO spaces (id, platform, platform_id, name, created_at)"
            " VALUES (1, 'discord', 'g1', 'Big', ?)",
            (db_text(NOW),),
        )
        db.executemany(
            "INSERT INTO members (id, space_id, platform_id, display_name, is_bot, is_staff,"
            " joined_at, left_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        tiers = ("passive", "active", "hero")
        db.executemany(
            "INSERT INTO tier_assignments (member_id, space_id, tier, earned_tier, score,"
            " active_weeks, window_weeks, helped_members, answers, thanks_received,"
            " contributions, recent_score, prior_score, recent_replies, last_active_day,"
            " below_count, reasons, since, evaluated_at)"
            " VALUES (?, 1, ?, ?, ?, 3, 13, 2, 0, 0, 0, 0, 0, 0, ?, 0, 'reasons', ?, ?)",
            [
                (r[0], tiers[r[0] % 3], tiers[r[0] % 3], r[0] % 997 / 3, today - r[0] % 90,
                 db_text(NOW), db_text(NOW))
                for r in rows
                if not r[4] and not r[5]
            ],
        )  # fmt: skip
        db.execute("COMMIT")
    finally:
        db.close()
    return sum(1 for r in rows if not r[4] and r[7] is None)


async def test_members_export_streams_in_bounded_memory(sqlite_engine, tmp_path):
    path = sqlite_engine.url.database
    listed = fill(path)
    size = rows = 0
    tracemalloc.start()
    try:
        async for chunk in export_csv(UnitOfWork(sqlite_engine), "members", 1, now=NOW):
            size += len(chunk)
            rows += chunk.count("\r\n")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rows == listed + 1  # and the header
    assert size > 6_000_000
    # Holding the rows (or the text) whole would take several times the export's size;
    # batches of 2,000 rows take about half of it.
    assert peak < size, f"peak {peak:,} bytes for a {size:,}-character export"
