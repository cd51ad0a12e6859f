"""Shutting the live writer down mid-fault: nothing spilled twice, nothing set aside twice."""

import asyncio
import sqlite3

import pytest
from sqlalchemy import exc as sa_exc

from storage import engine as engine_module
from storage.engine import create_engine
from storage.migrate import upgrade
from storage.writer.batch import BatchWriter
from storage.writer.queue import IngestWriter, WriterClosedError
from storage.writer.spill import QUARANTINE_FILE
from tests.faults import scenarios
from tests.storage.test_writer_faults import quarantined, refuse_event_ids_starting_with_poison


async def test_shutdown_in_the_middle_of_a_split_spills_only_what_is_unsettled(
    engine, tmp_path, monkeypatch
):
    await refuse_event_ids_starting_with_poison(engine)
    put = scenarios.events("ok", 40)
    put[30] = scenarios.events("poison-", 1)[0]
    original = BatchWriter.write_records
    gone = []

    async def then_the_database_goes(self, conn, records):
        # Once the refused event was found alone, the database becomes unreachable: the rest
        # of the split cannot be written and shutdown must spill it.
        if gone:
            raise sa_exc.OperationalError("INSERT", {}, sqlite3.OperationalError("disk I/O"))
        try:
            return await original(self, conn, records)
        except Exception:
            if len(records) == 1:
                gone.append(records[0][2])
            raise

    monkeypatch.setattr(BatchWriter, "write_records", then_the_database_goes)
    spill = tmp_path / scenarios.SPILL_FILE
    writer = IngestWriter(engine, scenarios.KEY, spill_path=spill, **{
        **scenarios.WRITER, "batch_size": 40, "flush_interval": 1.0})  # fmt: skip
    await writer.start()
    await writer.put_many(put)
    await scenarios.until(lambda: gone and writer.stats.retries)
    await asyncio.wait_for(writer.close(grace_seconds=0.1), 10)

    assert gone == ["poison-0"]
    assert writer.stats.quarantined == 1
    # Split in halves: 0-19 and 20-29 were stored, 30 set aside; 31-39 never got written.
    assert writer.stats.inserted == 30
    assert writer.stats.spilled == 9
    monkeypatch.setattr(BatchWriter, "write_records", original)
    again = IngestWriter(engine, scenarios.KEY, spill_path=spill, **scenarios.WRITER)
    await again.start()
    await again.close()
    assert again.stats.replayed == 9
    assert again.stats.duplicates == 0  # nothing stored was spilled
    ledger = await scenarios.account(
        scenarios.Ledger("split", engine.dialect.name), engine, [e.event_id for e in put], tmp_path
    )
    assert (ledger.stored, ledger.quarantined, ledger.lost, ledger.duplicated) == (39, 1, 0, 0)
    assert [e["event"]["event_id"] for e in quarantined(tmp_path / QUARANTINE_FILE)] == ["poison-0"]


async def test_a_producer_waiting_on_a_full_queue_at_shutdown_loses_nothing(tmp_path, monkeypatch):
    """SQLite's write lock held by another process past the busy wait, then shutdown."""
    monkeypatch.setattr(engine_module, "SQLITE_BUSY_TIMEOUT_MS", 50)
    path = tmp_path / "pulse.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    await upgrade(engine)
    spill = tmp_path / scenarios.SPILL_FILE
    writer = IngestWriter(engine, scenarios.KEY, spill_path=spill, **{
        **scenarios.WRITER, "queue_size": 20, "batch_size": 10})  # fmt: skip
    await writer.start()
    put = scenarios.events("q", 60)
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another process writing, and not letting go
        producing = asyncio.create_task(writer.put_many(put))
        await scenarios.until(lambda: writer.stats.retries >= 2)
        assert not producing.done()  # the queue is full: the producer waits
        await asyncio.wait_for(writer.close(grace_seconds=0.1), 10)
        with pytest.raises(WriterClosedError):  # what comes after shutdown began is refused
            await asyncio.wait_for(producing, 5)
    finally:
        other.rollback()
        other.close()
    accepted = writer.stats.received
    assert writer.stats.inserted == 0
    # The queue's 20, the batch in hand, and the one put that was waiting when shutdown came.
    assert writer.stats.spilled == accepted == 20 + 10 + 1

    again = IngestWriter(engine, scenarios.KEY, spill_path=spill, **scenarios.WRITER)
    await again.start()
    await again.close()
    ledger = await scenarios.account(
        scenarios.Ledger("lock", "sqlite"), engine, [e.event_id for e in put[:accepted]], tmp_path
    )
    await engine.dispose()
    assert ledger.whole
    assert ledger.stored == accepted


async def test_a_lock_held_past_sqlites_busy_wait_delays_the_writer_and_loses_nothing(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(engine_module, "SQLITE_BUSY_TIMEOUT_MS", 50)
    path = tmp_path / "pulse.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    await upgrade(engine)
    writer = IngestWriter(engine, scenarios.KEY, **scenarios.WRITER)
    await writer.start()
    put = scenarios.events("l", 300)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    producing = asyncio.create_task(writer.put_many(put))
    await scenarios.until(lambda: writer.stats.retries >= 3)
    stored_while_locked = writer.stats.inserted
    other.rollback()
    other.close()
    await asyncio.wait_for(producing, 30)
    await asyncio.wait_for(writer.close(), 30)
    assert stored_while_locked == 0
    ledger = await scenarios.account(
        scenarios.Ledger("lock", "sqlite"), engine, [e.event_id for e in put], tmp_path
    )
    await engine.dispose()
    assert ledger.whole
    assert ledger.stored == 300
