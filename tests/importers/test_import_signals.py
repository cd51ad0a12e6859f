"""`pulse import` stopped by SIGINT or SIGTERM: what was read is stored, a re-run finishes."""

import importlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IMPORT = [sys.executable, "-c", "from bot.cli import main; main()", "import", "slack-export"]


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> Path:
    """A generated Slack export large enough to take a few seconds in small batches."""
    root = tmp_path_factory.mktemp("signals") / "export"
    importlib.import_module("bench.import").generate(root, 60_000, 500, 5, seed=3)
    return root


def stored(db: Path) -> int:
    """Activities committed so far (read beside the running import: SQLite's WAL allows it)."""
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return conn.execute("SELECT count(*) FROM activities").fetchone()[0]
    except sqlite3.OperationalError:
        return 0  # not created or not migrated yet


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_the_import_cleanly_and_a_rerun_finishes(export, tmp_path, signum):
    db = tmp_path / "pulse.db"
    command = [*IMPORT, str(export), "--database-url", f"sqlite:///{db}", "--batch-size", "500"]
    env = {**os.environ, "PULSE_HASH_KEY": "signals-key"}
    proc = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while stored(db) == 0 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the import ended before it could be stopped"
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signum, (out, err)
    assert "Traceback" not in out + err
    assert f"stopped by {signal.Signals(signum).name}" in err
    assert "Run the same command again" in err
    partial = stored(db)
    assert partial > 0
    with sqlite3.connect(db) as conn:
        indexes = {row[1] for row in conn.execute("PRAGMA index_list('activities')")}
        tiers = conn.execute("SELECT count(*) FROM tier_assignments").fetchone()[0]
    assert "ix_activities_member_time" in indexes, "the deferred index was rebuilt"
    assert tiers == 0, "a stopped import leaves tiers to the run that finishes it"

    again = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert again.returncode == 0, again.stderr
    assert f"{partial:,} were already stored" in again.stdout
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM tier_assignments").fetchone()[0] > 0
