"""`pulse run` killed with SIGKILL mid-stream and started again: catch-up brings back what it can.

What the killed process held in memory (its writer's queue and batch) is gone from it; the
restart's catch-up reads it again from the platform. Every kind the platform's history (or
member and thread lists) holds must come back whole, stored once; the rest is what
docs/storage.md says a SIGKILL loses.
"""

import pytest

from tests.faults.killed_run import UNRECOVERABLE, killed_run


@pytest.mark.parametrize("platform", ["discord", "slack"])
async def test_a_killed_pulse_run_gets_back_what_it_held_through_catch_up(
    platform, database_url, tmp_path
):
    ledger = await killed_run(platform, database_url, tmp_path)
    lost_by_design = UNRECOVERABLE[platform]
    for kind in ledger.kinds:
        assert kind.put == 8, kind
        assert kind.in_memory > 0, kind  # the kill did catch some of this kind unstored
        assert kind.duplicated == 0, kind
        if kind.kind in lost_by_design:
            # Exactly what was only in memory, and nothing that had been stored.
            assert kind.lost_ids == kind.in_memory_ids, kind
        else:
            assert kind.lost_ids == [], kind
            assert kind.stored == kind.put, kind
    assert ledger.rollups_match
    assert {k.kind for k in ledger.kinds} >= {"message", "reply", "thread reply", "join"}
