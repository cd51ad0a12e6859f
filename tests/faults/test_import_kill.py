"""An import killed with SIGKILL at seeded points, then run again, equals a clean import."""

from tests.faults.imports import killed_imports
from tests.importers.test_import_bulk import busy, hash_key, other_url  # noqa: F401 - fixtures

# ruff: noqa: F811 - the fixtures imported above, as test arguments

# Seeded points: a share of the events left to store, then up to 10 ms more (a batch takes a few).
SEEDS = {"sqlite": (11, 3), "postgresql": (12, 2)}


async def test_an_import_killed_at_seeded_points_then_rerun_equals_a_clean_import(
    database_url, other_url, busy, tmp_path
):
    backend = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    seed, kills = SEEDS[backend]
    ledger = await killed_imports(database_url, other_url, busy, tmp_path, seed=seed, kills=kills)
    assert ledger.notes == []  # every run was killed mid-import; what committed added up
    assert ledger.put > 3000
    assert ledger.stored == ledger.put
    assert ledger.lost == ledger.duplicated == 0
    assert ledger.rollups_match  # every table equals the clean import's, tiers included
    stored_at_kills = [int(n) for n in ledger.detail.split(": ")[1].split(", ")]
    assert stored_at_kills == sorted(stored_at_kills)
    # Some struck mid-write; one may strike after the last batch, in the tier replay.
    assert any(0 < n < ledger.put for n in stored_at_kills), stored_at_kills


def test_kill_points_are_seeded():
    from tests.faults.imports import kill_points

    assert kill_points(11, 3) == kill_points(11, 3)
    assert kill_points(11, 3) != kill_points(12, 3)
    assert all(0 <= share < 0.9 and 0 <= delay < 0.01 for share, delay in kill_points(11, 9))
