"""The live writer while PostgreSQL is stopped, frozen and killed: every event stored once."""

import pytest

from tests.faults import scenarios

pytestmark = pytest.mark.postgres


@pytest.mark.parametrize("fault", list(scenarios.PG_FAULTS))
async def test_every_event_is_stored_once_whatever_happens_to_the_server(
    fault_server, tmp_path, fault
):
    ledger = await scenarios.live_writer_under_fault(fault_server, fault, tmp_path)
    assert ledger.notes == []  # the fault did strike the writer: it had to retry
    assert ledger.put == ledger.stored == 1500
    assert ledger.lost == ledger.duplicated == 0
    assert ledger.rollups_match


async def test_a_server_frozen_through_shutdown_does_not_hold_the_writer(fault_server, tmp_path):
    ledger, closing = await scenarios.shutdown_while_frozen(fault_server, tmp_path)
    # close() gave up after its grace and spilled: it did not wait on the frozen server.
    assert closing < 15
    assert ledger.put > 400
    assert ledger.stored == ledger.put
    assert ledger.lost == ledger.duplicated == 0
    assert ledger.rollups_match
