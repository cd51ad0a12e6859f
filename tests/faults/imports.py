"""Kill an import with SIGKILL at seeded points, run it again, and compare with a clean import.

Shared by tests/faults/test_import_kill.py and bench/faults.py. The comparison is the one
tests/importers/test_import_bulk.py makes between import paths: every table an import writes,
row ids mapped to platform ids, tiers and quiet flags included.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from storage.engine import create_engine
from tests.faults.scenarios import Ledger
from tests.importers.test_import_bulk import (
    HELP,
    KEY,
    NOW,
    assert_rollups_match_activities,
    bulk_import,
    dump,
    settings_for,
)

__all__ = ["HELP", "KEY", "NOW", "killed_imports", "settings_for"]

ROOT = Path(__file__).resolve().parents[2]
# Small batches, so that an export of a few thousand events commits a dozen times or more, and
# a kill finds a transaction open as often as not.
BATCH_SIZE = 250


def kill_points(seed: int, kills: int) -> list[tuple[float, float]]:
    """KILLS points to strike at: the share of the events left to store, and a delay after it."""
    rng = random.Random(seed)
    return [(rng.uniform(0, 0.9), rng.uniform(0, 0.01)) for _ in range(kills)]


def kill_import(url: str, export: Path, marker: Path, after: int, delay: float) -> bool:
    """Start an import in a process; SIGKILL it DELAY s after it stored AFTER new events.

    False when it ended before that.
    """
    marker.unlink(missing_ok=True)
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.faults.crashing_import", url, str(export), str(marker),
         str(BATCH_SIZE)],
        cwd=ROOT,
        env={**os.environ, "PULSE_HASH_KEY": KEY},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    try:
        while child.poll() is None and time.monotonic() < deadline:
            done = marker.read_text() if marker.exists() else ""
            if done.isdigit() and int(done) >= after:
                break
            time.sleep(0.002)
        time.sleep(delay)
        killed = child.poll() is None
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    return killed


async def activities(url: str) -> int:
    """How many activities URL holds."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return (await conn.exec_driver_sql("SELECT count(*) FROM activities")).scalar_one()
    finally:
        await engine.dispose()


async def consistent(url: str) -> bool:
    """Whether the rollups equal their recomputation from the stored activities."""
    try:
        await assert_rollups_match_activities(url)
    except AssertionError:
        return False
    return True


async def killed_imports(
    url: str, clean_url: str, export: Path, folder: Path, *, seed: int, kills: int = 3
) -> Ledger:
    """Import EXPORT into URL killed at KILLS seeded points, then whole; compare with CLEAN_URL."""
    clean = await bulk_import(clean_url, export)
    ledger = Ledger(f"kill -9 import x{kills}", url.split(":", 1)[0].split("+")[0])
    stored_at_kills = []
    stored = 0
    for n, (share, delay) in enumerate(kill_points(seed, kills)):
        after = int(share * (clean.stats.inserted - stored))
        killed = await asyncio.to_thread(
            kill_import, url, export, folder / f"progress-{n}", after, delay
        )
        if not killed:
            ledger.notes.append(f"run {n} ended before its kill point")
        if not await consistent(url):
            ledger.notes.append(f"rollups do not add up after kill {n}")
        stored = await activities(url)
        stored_at_kills.append(stored)
    ledger.detail = "activities stored at each kill: " + ", ".join(map(str, stored_at_kills))
    await bulk_import(url, export)
    got, expected = await dump(url), await dump(clean_url)
    rows, wanted = Counter(got["activities"]), Counter(expected["activities"])
    ledger.put = sum(wanted.values())
    ledger.stored = sum(min(rows[row], n) for row, n in wanted.items())
    ledger.lost = ledger.put - ledger.stored
    ledger.duplicated = sum((rows - wanted).values())
    differs = [name for name in expected if got[name] != expected[name]]
    ledger.notes += [f"{name} differ from a clean import" for name in differs]
    ledger.rollups_match = not differs and await consistent(url)
    return ledger
