"""Pulse gives the same answers at any hour: the demo seeded and read under several fixed clocks."""

import json
import sqlite3
from datetime import UTC, datetime

import pytest

from tests.factories import pulse

CLOCKS = {
    "just after midnight UTC": (datetime(2026, 11, 24, 0, 1, tzinfo=UTC), None),
    "just before midnight UTC": (datetime(2026, 11, 24, 23, 59, tzinfo=UTC), None),
    # New York falls back at 06:00 UTC on 2026-11-01; the digest week is read in that zone.
    "across a daylight-saving change": (
        datetime(2026, 11, 1, 6, 30, tzinfo=UTC),
        "America/New_York",
    ),
}


@pytest.mark.parametrize("label", CLOCKS)
def test_tiers_and_digest_agree_at_any_hour(label, tmp_path):
    at, timezone = CLOCKS[label]
    args = []
    if timezone:
        config = tmp_path / "pulse.toml"
        config.write_text(f'[digest]\ntimezone = "{timezone}"\n')
        args = ["--config", config]
    db = tmp_path / "demo.db"
    seeded = pulse("demo", "--out", db, "--json", *args, at=at)
    assert seeded.exit_code == 0, seeded.output
    url = ["--database-url", f"sqlite:///{db}"]

    with sqlite3.connect(db) as conn:
        latest = conn.execute("select max(evaluated_at) from tier_assignments").fetchone()[0]
    assert latest <= at.strftime("%Y-%m-%d %H:%M:%S.%f"), "an evaluation lies in the future"

    tiers = json.loads(pulse("tiers", "--json", *url, *args, at=at).stdout)["counts"]
    assert tiers == json.loads(seeded.stdout)["tiers"]
    preview = pulse("digest", "preview", "--json", "--out", tmp_path, *url, *args, at=at)
    assert preview.exit_code == 0, preview.output
    digest = json.loads(preview.stdout)
    assert digest["staff"]["digest"]["tiers_now"] == tiers
    assert len(digest["staff"]["digest"]["weekly_active"]["week_starts"]) == 12
    quiet = json.loads(pulse("quiet", "--json", *url, *args, at=at).stdout)
    assert quiet, "the demo always has members who went quiet"
    public = json.dumps(digest["community"])
    for row in quiet:
        assert row["member"]["name"] not in public
