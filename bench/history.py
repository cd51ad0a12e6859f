"""Tier history benchmark: an import's replay and a read --as-of on a big community.

It works on a copy of a database built by ``bench/classify.py --db PATH`` (its "now" is
2026-11-22 12:00 UTC), with the tier tables and quiet flags emptied as after an import, and
times:

* ``storage.history.rebuild_history``: the daily evaluations an import replays (the last 86
  days plus the warm-up), written at the end;
* ``storage.history.tiers_as_of`` for a day 30 days back: what ``pulse tiers --as-of`` computes.

    python bench/classify.py --members 20000 --activities 1000000 --db /tmp/pulse-20k.db
    python bench/history.py /tmp/pulse-20k.db
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from community.events import day_number  # noqa: E402
from community.tiers import TierPolicy  # noqa: E402
from storage.engine import create_engine  # noqa: E402
from storage.history import rebuild_history, tiers_as_of  # noqa: E402
from storage.models import QuietFlag, Space, TierAssignment, TierChange  # noqa: E402

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)  # bench/classify.py's "now"


async def measure(path: Path, policy: TierPolicy) -> None:
    """Empty the tier tables of the database at PATH, then time the replay and a read."""
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with engine.begin() as conn:
            for table in (TierChange, TierAssignment, QuietFlag):
                await conn.execute(table.__table__.delete())
            space_id = (await conn.execute(select(Space.id))).scalar_one()
        started = time.monotonic()
        result = await rebuild_history(engine, space_id, NOW, policy)
        print(
            f"replay: {len(result.days)} days, {result.changes:,} tier changes, "
            f"{time.monotonic() - started:.1f} s"
        )
        async with engine.connect() as conn:
            started = time.monotonic()
            held = await tiers_as_of(conn, space_id, day_number(NOW) - 30, policy)
            seconds = time.monotonic() - started
            print(f"as-of read: {len(held):,} members with figures, {seconds:.1f} s")
    finally:
        await engine.dispose()


def main() -> None:
    """Copy the database, then measure on the copy."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db", type=Path, help="a database built by bench/classify.py --db")
    # 0 measures the replay as it was before the notice period lengthened its warm-up.
    parser.add_argument("--notice-days", type=int, default=TierPolicy().demotion_notice_days)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "history.db"
        for suffix in ("", "-wal"):
            source = Path(f"{args.db}{suffix}")
            if source.exists():
                shutil.copy(source, f"{copy}{suffix}")
        asyncio.run(measure(copy, TierPolicy(demotion_notice_days=args.notice_days)))


if __name__ == "__main__":
    main()
