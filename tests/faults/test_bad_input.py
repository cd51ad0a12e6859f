"""Poison events and a damaged spill file, accounted for event by event on both backends."""

from tests.faults import scenarios


async def test_poison_events_are_quarantined_once_and_the_rest_stored(database_url, tmp_path):
    ledger = await scenarios.poison(database_url, tmp_path)
    assert ledger.notes == []
    assert ledger.quarantined == 10
    assert ledger.stored == ledger.put - 10
    assert ledger.lost == ledger.duplicated == 0
    assert ledger.rollups_match


async def test_damaged_spill_lines_are_set_aside_and_the_good_ones_stored(database_url, tmp_path):
    ledger = await scenarios.malformed_spill(database_url, tmp_path)
    assert ledger.notes == []
    assert ledger.quarantined == 20
    assert ledger.stored == ledger.put - 20
    assert ledger.lost == ledger.duplicated == ledger.spilled == 0
    assert not (tmp_path / scenarios.SPILL_FILE).exists()
    assert ledger.rollups_match


async def test_a_killed_writing_process_leaves_whole_batches_and_a_usable_database(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'pulse.db'}"
    ledger = await scenarios.killed_writer(url, tmp_path)
    assert ledger.notes == []
    assert 0 < ledger.stored < ledger.put
    assert ledger.duplicated == 0
    assert ledger.rollups_match
    # Only a shutdown spills: a SIGKILL loses what was queued in memory, at most the queue and
    # the batch in hand.
    assert ledger.lost <= scenarios.WRITER["queue_size"] + scenarios.WRITER["batch_size"] + 1
